//! The command line, read into what to do: by hand, as it is small, to keep the tool quick to
//! build.

use std::time::Duration;

use serde_json::{Map, Value};

/// What the user asked for.
#[derive(Debug, PartialEq)]
pub enum Command {
    Help,
    Version,
    Call(Target, Params),
    Notify(Target, Params),
    Subscribe(Target, Params),
    Discover(Connect),
    Methods(Connect),
    CodegenTs { source: Source, out: String },
}

/// Where an OpenRPC document comes from.
#[derive(Debug, PartialEq)]
pub enum Source {
    /// A server's `rpc.discover`.
    Server(Connect),
    /// A document saved as a file.
    File(String),
}

/// Where to connect and how.
#[derive(Debug, PartialEq)]
pub struct Connect {
    pub url: String,
    /// `name: value` handshake or request headers.
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
}

/// A method (or topic) on a server.
#[derive(Debug, PartialEq)]
pub struct Target {
    pub connect: Connect,
    pub method: String,
}

/// The params, as given.
#[derive(Debug, PartialEq)]
pub enum Params {
    None,
    /// Each given param, read as JSON or else as a string.
    Positional(Vec<Value>),
    /// `--named k=v`, each value read as JSON or else as a string.
    Named(Map<String, Value>),
    /// `--raw JSON`: the params whole; `-` reads them from stdin.
    Raw(String),
}

/// A mistake on the command line, said as the user would fix it.
#[derive(Debug, PartialEq)]
pub struct Usage(pub String);

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, Usage> {
    let mut args = args.into_iter().peekable();
    let Some(command) = args.next() else {
        return Ok(Command::Help);
    };
    let mut positional = Vec::new();
    let mut headers = Vec::new();
    let mut named = Map::new();
    let mut raw = None;
    let mut out = None;
    let mut timeout = DEFAULT_TIMEOUT;
    while let Some(arg) = args.next() {
        let mut value = |what: &str| {
            args.next()
                .ok_or_else(|| Usage(format!("{arg} needs {what}")))
        };
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-H" | "--header" => {
                let header = value("a header, 'name: value'")?;
                let (name, text) = header
                    .split_once(':')
                    .ok_or_else(|| Usage(format!("header {header:?} is not 'name: value'")))?;
                headers.push((name.trim().to_owned(), text.trim().to_owned()));
            }
            "--named" => {
                let pair = value("k=v")?;
                let (key, text) = pair
                    .split_once('=')
                    .ok_or_else(|| Usage(format!("--named {pair:?} is not k=v")))?;
                named.insert(key.to_owned(), json_or_string(text));
            }
            "--raw" => raw = Some(value("the params as JSON, or - for stdin")?),
            "-o" | "--out" => out = Some(value("a directory")?),
            "--timeout" => {
                let seconds = value("seconds")?;
                let seconds: f64 = seconds
                    .parse()
                    .ok()
                    .filter(|seconds: &f64| seconds.is_finite() && *seconds > 0.0)
                    .ok_or_else(|| Usage(format!("--timeout {seconds:?} is not seconds")))?;
                timeout = Duration::from_secs_f64(seconds);
            }
            // `--` ends the options: what follows is params, dashes and all.
            "--" => positional.extend(args.by_ref()),
            _ if arg.starts_with('-') && arg.len() > 1 && arg.parse::<f64>().is_err() => {
                return Err(Usage(format!("unknown option {arg}")));
            }
            _ => positional.push(arg),
        }
    }
    let mut positional = positional.into_iter();
    let mut next = |what: &str| {
        positional
            .next()
            .ok_or_else(|| Usage(format!("`rpc {command}` needs {what}")))
    };
    let command = match command.as_str() {
        "-h" | "--help" | "help" => return Ok(Command::Help),
        "-V" | "--version" => return Ok(Command::Version),
        "call" | "notify" | "subscribe" => {
            let connect = Connect {
                url: next("a URL")?,
                headers,
                timeout,
            };
            let method = next("a method")?;
            let rest: Vec<String> = positional.by_ref().collect();
            let params = match (rest.is_empty(), named.is_empty(), raw) {
                (true, true, None) => Params::None,
                (false, true, None) => {
                    Params::Positional(rest.iter().map(|p| json_or_string(p)).collect())
                }
                (true, false, None) => Params::Named(named),
                (true, true, Some(raw)) => Params::Raw(raw),
                _ => {
                    return Err(Usage(
                        "give params one way: as arguments, --named, or --raw".into(),
                    ));
                }
            };
            let target = Target { connect, method };
            match command.as_str() {
                "call" => Command::Call(target, params),
                "notify" => Command::Notify(target, params),
                _ => Command::Subscribe(target, params),
            }
        }
        "discover" | "methods" => {
            let connect = Connect {
                url: next("a URL")?,
                headers,
                timeout,
            };
            if command == "discover" {
                Command::Discover(connect)
            } else {
                Command::Methods(connect)
            }
        }
        "codegen" => {
            let language = next("a language: ts")?;
            if language != "ts" {
                return Err(Usage(format!(
                    "no code generator for {language:?}: only `ts` (TypeScript)"
                )));
            }
            let source = next("a URL or an OpenRPC file")?;
            let source = if source.contains("://") {
                Source::Server(Connect {
                    url: source,
                    headers,
                    timeout,
                })
            } else {
                Source::File(source)
            };
            let out = out.ok_or_else(|| Usage("`rpc codegen ts` needs -o DIR".into()))?;
            Command::CodegenTs { source, out }
        }
        other => return Err(Usage(format!("unknown command {other:?}"))),
    };
    if let Some(extra) = positional.next() {
        return Err(Usage(format!("unexpected argument {extra:?}")));
    }
    Ok(command)
}

/// `text` as JSON if it is JSON, else as a string: `42`, `true`, `[1,2]` and `{"a":1}` are
/// themselves, `hello` is `"hello"`.
pub fn json_or_string(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse_line(line: &str) -> Result<Command, Usage> {
        parse(line.split_whitespace().map(str::to_owned))
    }

    fn target(method: &str) -> Target {
        Target {
            connect: Connect {
                url: "http://h/".into(),
                headers: Vec::new(),
                timeout: DEFAULT_TIMEOUT,
            },
            method: method.into(),
        }
    }

    #[test]
    fn params_are_json_or_else_strings() {
        assert_eq!(
            parse_line("call http://h/ subtract 42 23").unwrap(),
            Command::Call(
                target("subtract"),
                Params::Positional(vec![json!(42), json!(23)])
            )
        );
        assert_eq!(
            parse_line("call http://h/ greet ann -1 [1,2] true").unwrap(),
            Command::Call(
                target("greet"),
                Params::Positional(vec![json!("ann"), json!(-1), json!([1, 2]), json!(true)])
            )
        );
        let Command::Call(_, Params::Named(named)) =
            parse_line("call http://h/ subtract --named minuend=42 --named who=ann").unwrap()
        else {
            panic!("named");
        };
        assert_eq!(named["minuend"], 42);
        assert_eq!(named["who"], "ann");
        assert_eq!(
            parse_line("call http://h/ m --raw -").unwrap(),
            Command::Call(target("m"), Params::Raw("-".into()))
        );
    }

    #[test]
    fn codegen_reads_a_server_with_its_headers_or_a_file() {
        let Command::CodegenTs { source, out } =
            parse_line("codegen ts wss://h/rpc -H authorization:t -o web").unwrap()
        else {
            panic!("codegen");
        };
        let Source::Server(connect) = source else {
            panic!("a server");
        };
        assert_eq!((connect.url.as_str(), out.as_str()), ("wss://h/rpc", "web"));
        assert_eq!(connect.headers, [("authorization".into(), "t".into())]);
        assert_eq!(
            parse_line("codegen ts api.json -o web").unwrap(),
            Command::CodegenTs {
                source: Source::File("api.json".into()),
                out: "web".into()
            }
        );
    }

    #[test]
    fn options_go_anywhere_and_mistakes_say_what_to_fix() {
        let Command::Discover(connect) =
            parse_line("discover -H x-token:abc ws://h/ --timeout 2.5").unwrap()
        else {
            panic!("discover");
        };
        assert_eq!(connect.headers, [("x-token".into(), "abc".into())]);
        assert_eq!(connect.timeout, Duration::from_millis(2500));
        assert_eq!(
            parse_line("call http://h/").unwrap_err(),
            Usage("`rpc call` needs a method".into())
        );
        assert_eq!(
            parse_line("call http://h/ m 1 --named a=1").unwrap_err(),
            Usage("give params one way: as arguments, --named, or --raw".into())
        );
        assert_eq!(
            parse_line("frobnicate").unwrap_err(),
            Usage("unknown command \"frobnicate\"".into())
        );
        assert_eq!(
            parse_line("call --x").unwrap_err(),
            Usage("unknown option --x".into())
        );
        assert_eq!(
            parse_line("codegen ts doc.json").unwrap_err(),
            Usage("`rpc codegen ts` needs -o DIR".into())
        );
        assert_eq!(parse_line("").unwrap(), Command::Help);
    }
}
