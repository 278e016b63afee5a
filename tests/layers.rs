//! The published crates' modules import in one direction: no module reaches, directly or
//! through others, back to itself. What two modules share lives below both.
//!
//! Drawn from the source text, as a reader sees it: every `crate::`, `super::` and `self::`
//! path outside comments, resolved through `use` re-exports to the file that defines the
//! name, is an edge from the file that names it. A file's own inline modules (`mod tests`)
//! are part of it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

#[test]
fn rpc_runtime_has_no_import_circles() {
    assert_no_circles("rpc-runtime/src");
}

#[test]
fn rpc_macros_has_no_import_circles() {
    assert_no_circles("rpc-macros/src");
}

/// The checker finds what it is meant to: a circle through a re-export, and none where a
/// child merely uses its parent's items that nothing of the child's comes back through.
#[test]
fn the_checker_sees_a_circle_through_a_re_export() {
    let dir = tempdir("circle");
    write(&dir, "lib.rs", "mod a;\nmod b;\npub use b::Thing;\n");
    write(&dir, "a.rs", "use crate::Thing;\npub struct Other;\n");
    write(&dir, "b.rs", "pub struct Thing(crate::a::Other);\n");
    let circles = Graph::read(&dir).circles();
    assert_eq!(circles, vec![vec!["a.rs".to_string(), "b.rs".to_string()]]);

    write(&dir, "b.rs", "pub struct Thing;\n");
    assert!(Graph::read(&dir).circles().is_empty());
    fs::remove_dir_all(dir).unwrap();
}

/// What is inside comments and literals is no import.
#[test]
fn comments_and_literals_name_nothing() {
    let text = strip_comments(
        "// crate::a\n/* crate::b */ let x = \"crate::c\"; let y = r#\"crate::d \\\"#; crate::e;",
    );
    let paths: Vec<String> = crate_paths(&text).iter().map(|p| p.join("::")).collect();
    assert_eq!(paths, ["crate::e"]);
}

fn assert_no_circles(src: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(src);
    let graph = Graph::read(&root);
    assert!(graph.files.len() > 5, "read too few modules under {src}");
    let circles = graph.circles();
    let listed: Vec<String> = circles
        .iter()
        .map(|files| {
            let edges: Vec<String> = files
                .iter()
                .flat_map(|from| {
                    graph.edges[from]
                        .iter()
                        .filter(|(to, _)| files.contains(to))
                        .map(move |(to, name)| format!("    {from} -> {to} ({name})"))
                })
                .collect();
            edges.join("\n")
        })
        .collect();
    assert!(
        circles.is_empty(),
        "import circles in {src} (move what they share below both):\n{}",
        listed.join("\n\n")
    );
}

/// Files by their path under the source root, the module tree, and who names whom.
struct Graph {
    /// Module path (`["push", "hub"]`) to file.
    files: BTreeMap<Vec<String>, String>,
    /// File to the names its `use` items bring in: name to the path they name (empty for
    /// another crate's).
    uses: BTreeMap<String, Vec<(String, Vec<String>)>>,
    /// File to the files it names, each with one name that shows why.
    edges: BTreeMap<String, BTreeMap<String, String>>,
}

impl Graph {
    fn read(root: &Path) -> Graph {
        let mut files = BTreeMap::new();
        collect_modules(root, &root.join("lib.rs"), Vec::new(), &mut files);
        let texts: BTreeMap<String, String> = files
            .values()
            .map(|file| {
                let text = strip_comments(&read(&root.join(file)));
                (file.clone(), inline_modules_as_self(&text))
            })
            .collect();
        let mut graph = Graph {
            uses: BTreeMap::new(),
            edges: BTreeMap::new(),
            files,
        };
        for (module, file) in &graph.files {
            let uses = use_items(&texts[file])
                .0
                .into_iter()
                .map(|item| (item.name, absolute(&graph.files, module, &item.path)))
                .collect();
            graph.uses.insert(file.clone(), uses);
        }
        let modules: Vec<(Vec<String>, String)> = graph
            .files
            .iter()
            .map(|(m, f)| (m.clone(), f.clone()))
            .collect();
        for (module, file) in modules {
            let mut edges = BTreeMap::new();
            for path in crate_paths(&texts[&file]) {
                let path = absolute(&graph.files, &module, &path);
                if path.is_empty() {
                    continue;
                }
                if let Some(to) = graph.resolve(&path, 0)
                    && to != file
                {
                    edges.entry(to).or_insert_with(|| path.join("::"));
                }
            }
            graph.edges.insert(file, edges);
        }
        graph
    }

    /// The file that defines what `path` names: the deepest module on it, followed through
    /// that module's `use` items when the next segment is one of them.
    fn resolve(&self, path: &[String], depth: usize) -> Option<String> {
        if depth > 16 {
            return None;
        }
        let mut module = Vec::new();
        for segment in path {
            let mut deeper = module.clone();
            deeper.push(segment.clone());
            if self.files.contains_key(&deeper) {
                module = deeper;
                continue;
            }
            // Not a module file: a name this file's `use` items bring in (those of its inline
            // modules, `pub mod middleware { pub use .. }`, count as its own), or its own item.
            let file = &self.files[&module];
            let rest = &path[module.len()..];
            let used = rest
                .iter()
                .find_map(|segment| self.uses[file].iter().find(|(name, _)| name == segment));
            if let Some((_, target)) = used {
                // Empty: a name from another crate.
                if target.is_empty() {
                    return None;
                }
                return self
                    .resolve(target, depth + 1)
                    .or_else(|| Some(file.clone()));
            }
            return Some(file.clone());
        }
        self.files.get(&module).cloned()
    }

    /// Every set of files that reach each other (strongly connected, more than one file),
    /// each sorted, found by Tarjan's algorithm.
    fn circles(&self) -> Vec<Vec<String>> {
        struct State<'a> {
            graph: &'a Graph,
            index: BTreeMap<&'a str, usize>,
            low: BTreeMap<&'a str, usize>,
            stack: Vec<&'a str>,
            on_stack: BTreeSet<&'a str>,
            found: Vec<Vec<String>>,
        }
        fn visit<'a>(s: &mut State<'a>, node: &'a str) {
            let n = s.index.len();
            s.index.insert(node, n);
            s.low.insert(node, n);
            s.stack.push(node);
            s.on_stack.insert(node);
            for to in s.graph.edges[node].keys() {
                let to = to.as_str();
                if !s.index.contains_key(to) {
                    visit(s, to);
                    let low = s.low[node].min(s.low[to]);
                    s.low.insert(node, low);
                } else if s.on_stack.contains(to) {
                    let low = s.low[node].min(s.index[to]);
                    s.low.insert(node, low);
                }
            }
            if s.low[node] == s.index[node] {
                let mut group = Vec::new();
                loop {
                    let top = s.stack.pop().unwrap();
                    s.on_stack.remove(top);
                    group.push(top.to_string());
                    if top == node {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    s.found.push(group);
                }
            }
        }
        let mut s = State {
            graph: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            on_stack: BTreeSet::new(),
            found: Vec::new(),
        };
        for node in self.edges.keys() {
            if !s.index.contains_key(node.as_str()) {
                visit(&mut s, node);
            }
        }
        s.found.sort();
        s.found
    }
}

/// Walks `mod name;` declarations from `file` (honouring `#[path = ".."]`).
fn collect_modules(
    root: &Path,
    file: &Path,
    module: Vec<String>,
    out: &mut BTreeMap<Vec<String>, String>,
) {
    let relative = file
        .strip_prefix(root)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    out.insert(module.clone(), relative);
    // The raw text: `#[path]` holds a string. Declarations sit alone on their lines.
    let text = read(file);
    // Children of `lib.rs` and `mod.rs` sit beside them; those of `a.rs` in `a/`.
    let dir = match file.file_name().and_then(|n| n.to_str()) {
        Some("lib.rs" | "mod.rs") => file.parent().unwrap().to_path_buf(),
        _ => file.with_extension(""),
    };
    let mut pending_path: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("#[path = \"") {
            pending_path = rest.split('"').next().map(str::to_string);
            continue;
        }
        let declared = line
            .strip_prefix("pub ")
            .or_else(|| line.strip_prefix("pub(crate) "))
            .or_else(|| line.strip_prefix("pub(super) "))
            .unwrap_or(line);
        if let Some(name) = declared
            .strip_prefix("mod ")
            .and_then(|r| r.strip_suffix(';'))
        {
            let child: PathBuf = match pending_path.take() {
                Some(path) => dir.join(path),
                None if dir.join(format!("{name}.rs")).exists() => dir.join(format!("{name}.rs")),
                None => dir.join(name).join("mod.rs"),
            };
            let mut path = module.clone();
            path.push(name.to_string());
            collect_modules(root, &child, path, out);
        } else if !line.starts_with("#[") {
            pending_path = None;
        }
    }
}

/// The source without comments and string literals, which may mention paths that are not
/// imports.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
            }
            '"' => {
                skip_quoted(&mut chars, '"');
                out.push_str("\"\"");
            }
            // A raw string, `r#"..."#`, in which a backslash escapes nothing.
            'r' if !out.ends_with(|c: char| c.is_alphanumeric() || c == '_') && {
                let mut ahead = chars.clone();
                while ahead.next_if_eq(&'#').is_some() {}
                ahead.next() == Some('"')
            } =>
            {
                let mut hashes = 0;
                while chars.next_if_eq(&'#').is_some() {
                    hashes += 1;
                }
                chars.next();
                let close: String = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                let mut seen = String::new();
                for c in chars.by_ref() {
                    seen.push(c);
                    if seen.ends_with(&close) {
                        break;
                    }
                }
                out.push_str("\"\"");
            }
            // A char literal ('"'), not a lifetime ('a): it closes within three characters.
            '\'' => {
                let ahead: String = chars.clone().take(3).collect();
                if ahead.starts_with('\\') || ahead.chars().nth(1) == Some('\'') {
                    skip_quoted(&mut chars, '\'');
                    out.push_str("''");
                } else {
                    out.push('\'');
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// A name a `use` item brings in (`*` for a glob), the path it names, and whether it is a
/// re-export (`pub`, `pub(crate)`, ..), which only makes the name reachable from here.
struct UseItem {
    name: String,
    path: Vec<String>,
    public: bool,
}

/// Skips a string or char literal's rest, through its closing `quote`.
fn skip_quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, quote: char) {
    let mut escaped = false;
    for c in chars.by_ref() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == quote {
            break;
        }
    }
}

/// The `use` items of a file, and the text without them.
fn use_items(text: &str) -> (Vec<UseItem>, String) {
    let mut items = Vec::new();
    let mut code = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = find_word(rest, "use") {
        let tail = &rest[at + 3..];
        let Some(end) = tail.find(';') else { break };
        // `pub use`, `pub(crate) use`: the word before `use`.
        let before = rest[..at].split_whitespace().next_back();
        let public = before.is_some_and(|word| word.starts_with("pub"));
        let tree: String = tail[..end].split_whitespace().collect();
        let mut found = Vec::new();
        expand_tree(&tree, &mut Vec::new(), &mut found);
        items.extend(
            found
                .into_iter()
                .map(|(name, path)| UseItem { name, path, public }),
        );
        code.push_str(&rest[..at]);
        rest = &tail[end..];
    }
    code.push_str(rest);
    (items, code)
}

fn expand_tree(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<(String, Vec<String>)>) {
    // `::http::X` names a crate even where a module `http` is in scope.
    if prefix.is_empty() && tree.starts_with("::") {
        prefix.push("::".to_string());
        expand_tree(&tree[2..], prefix, out);
        prefix.clear();
        return;
    }
    if let Some(open) = tree.find('{') {
        let head = &tree[..open];
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let pushed: Vec<String> = head
            .split("::")
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let depth = prefix.len();
        prefix.extend(pushed);
        for part in split_top_level(inner) {
            expand_tree(part, prefix, out);
        }
        prefix.truncate(depth);
        return;
    }
    let (path, alias) = match tree.split_once("as") {
        Some((path, alias)) if !alias.contains("::") => (path, Some(alias)),
        _ => (tree, None),
    };
    let mut full = prefix.clone();
    full.extend(path.split("::").filter(|s| !s.is_empty()).map(String::from));
    let Some(last) = full.last().cloned() else {
        return;
    };
    if last == "*" {
        full.pop();
        out.push((last, full));
        return;
    }
    let name = match alias {
        Some(alias) => alias.to_string(),
        None if last == "self" => full
            .get(full.len().wrapping_sub(2))
            .cloned()
            .unwrap_or_default(),
        None => last.clone(),
    };
    // `use a::b::{self}` names the module `a::b`.
    if last == "self" {
        full.pop();
    }
    out.push((name, full));
}

fn split_top_level(list: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in list.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&list[start..]);
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

/// Every path that starts at `crate`, `super` or `self` and is used here: in private `use`
/// items (globs included) and in code.
fn crate_paths(text: &str) -> Vec<Vec<String>> {
    let (items, code) = use_items(text);
    let mut out: Vec<Vec<String>> = items
        .into_iter()
        .filter(|item| !item.public)
        .map(|item| item.path)
        .collect();
    for start in ["crate::", "super::", "self::"] {
        let mut rest = code.as_str();
        while let Some(at) = find_word(rest, start.trim_end_matches("::")) {
            let tail = &rest[at..];
            let len = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            let path: Vec<String> = tail[..len]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            if tail[..len].starts_with(start) && path.len() > 1 {
                out.push(path);
            }
            rest = &tail[len.max(1)..];
        }
    }
    out
}

/// The byte offset of `word` where it stands as a whole word.
fn find_word(text: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = text[from..].find(word) {
        let at = from + at;
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        let boundary = |c: Option<char>| !c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if boundary(before) && boundary(after) {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// A path as seen from `module`, made absolute from the crate root; empty for a path into
/// another crate. A path may also start at a child module (`use hub::Hub;` in `push/mod.rs`).
fn absolute(
    files: &BTreeMap<Vec<String>, String>,
    module: &[String],
    path: &[String],
) -> Vec<String> {
    let mut out = module.to_vec();
    let mut segments = path.iter().peekable();
    match segments.peek().map(|s| s.as_str()) {
        Some("crate") => {
            out.clear();
            segments.next();
        }
        Some("self" | "super") => {}
        Some(first) if files.contains_key(&[module, &[first.to_string()]].concat()) => {}
        _ => return Vec::new(),
    }
    while let Some(step) = segments.next_if(|s| *s == "self" || *s == "super") {
        if step == "super" {
            out.pop();
        }
    }
    out.extend(segments.cloned());
    out
}

/// The text with `super::` inside inline modules (`mod tests { .. }`) read as `self::`: they
/// are part of their file, and their parent is the file itself.
fn inline_modules_as_self(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = find_word(rest, "mod") {
        let after = &rest[at + 3..];
        let name_len = after
            .trim_start()
            .find(|c: char| !(c.is_alphanumeric() || c == '_'));
        let open = name_len.map(|n| after.len() - after.trim_start().len() + n);
        let Some(open) = open.filter(|&o| after[o..].trim_start().starts_with('{')) else {
            out.push_str(&rest[..at + 3]);
            rest = after;
            continue;
        };
        let body_start = at + 3 + open + after[open..].find('{').unwrap() + 1;
        let mut depth = 1;
        let mut end = rest.len();
        for (i, c) in rest[body_start..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                end = body_start + i;
                break;
            }
        }
        out.push_str(&rest[..body_start]);
        out.push_str(&replace_word(&rest[body_start..end], "super", "self"));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn replace_word(text: &str, word: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = find_word(rest, word) {
        out.push_str(&rest[..at]);
        out.push_str(with);
        rest = &rest[at + word.len()..];
    }
    out.push_str(rest);
    out
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("layers-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, file: &str, text: &str) {
    fs::write(dir.join(file), text).unwrap();
}
