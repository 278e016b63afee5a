//! Parsing the macros' arguments: `#[rpc_method("name", http = false)]` and the `#[rpc(...)]`
//! attributes on params. Values are only read here; rules that relate them live in `check`.

use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, ExprLit, Lit, LitBool, LitStr, Meta, Token};

use crate::ctxt::Ctxt;

/// The arguments of `#[rpc_method(...)]` / `#[rpc_notification(...)]` /
/// `#[rpc_subscription(...)]`.
#[derive(Default)]
pub(crate) struct MethodArgs {
    pub name: Option<LitStr>,
    pub http: Option<LitBool>,
    pub websocket: Option<LitBool>,
    pub blocking: Option<LitBool>,
    /// A subscription's unsubscribe method name.
    pub unsubscribe: Option<LitStr>,
    /// A subscription's notification name.
    pub notification: Option<LitStr>,
    /// `guard = path`: the function that decides who may call it.
    pub guard: Option<syn::Path>,
}

const FLAGS: &str = "`http`, `websocket`, `blocking`, `guard`, `unsubscribe`, `notification`";

/// The raw list; each entry is an expression so that a misspelt one still parses and can be
/// reported precisely.
pub(crate) struct RawArgs(Punctuated<Expr, Token![,]>);

impl Parse for RawArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        Punctuated::parse_terminated(input).map(RawArgs)
    }
}

impl MethodArgs {
    // Input:  "math.subtract", http = false
    // Output: MethodArgs { name: Some("math.subtract"), http: Some(false), .. }
    pub(crate) fn from_raw(cx: &Ctxt, raw: RawArgs) -> Self {
        let mut args = MethodArgs::default();
        for (index, arg) in raw.0.into_iter().enumerate() {
            match arg {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(name),
                    ..
                }) if index == 0 => args.name = Some(name),
                Expr::Assign(assign) => {
                    let Some(key) = single_ident(&assign.left) else {
                        cx.error_spanned_by(&assign.left, format!("expected one of {FLAGS}"));
                        continue;
                    };
                    if key == "guard" {
                        match &*assign.right {
                            Expr::Path(path) if path.qself.is_none() => {
                                if args.guard.replace(path.path.clone()).is_some() {
                                    cx.error_spanned_by(key, "duplicate argument `guard`");
                                }
                            }
                            other => cx.error_spanned_by(
                                other,
                                "expected the path of a guard function, like `guard = logged_in`, where `fn logged_in(cx: &Context) -> bool`",
                            ),
                        }
                        continue;
                    }
                    let names = match key.to_string().as_str() {
                        "unsubscribe" => Some(&mut args.unsubscribe),
                        "notification" => Some(&mut args.notification),
                        _ => None,
                    };
                    if let Some(slot) = names {
                        match &*assign.right {
                            Expr::Lit(ExprLit {
                                lit: Lit::Str(name),
                                ..
                            }) => {
                                if slot.replace(name.clone()).is_some() {
                                    cx.error_spanned_by(key, format!("duplicate argument `{key}`"));
                                }
                            }
                            other => cx.error_spanned_by(
                                other,
                                format!(
                                    "expected a method name for `{key}`, like `{key} = \"...\"`"
                                ),
                            ),
                        }
                        continue;
                    }
                    let slot = match key.to_string().as_str() {
                        "http" => &mut args.http,
                        "websocket" => &mut args.websocket,
                        "blocking" => &mut args.blocking,
                        // The method's name is the one argument written without a key.
                        "name" | "rename" | "method" => {
                            let name = match &*assign.right {
                                Expr::Lit(ExprLit {
                                    lit: Lit::Str(name),
                                    ..
                                }) => format!("{:?}", name.value()),
                                _ => "\"...\"".to_owned(),
                            };
                            cx.error_spanned_by(
                                &assign,
                                format!(
                                    "the method name is written first, without `{key} =`: \
                                     `#[rpc_method({name})]`"
                                ),
                            );
                            continue;
                        }
                        _ => {
                            cx.error_spanned_by(
                                key,
                                format!("unknown argument `{key}`, expected one of {FLAGS}"),
                            );
                            continue;
                        }
                    };
                    let Expr::Lit(ExprLit {
                        lit: Lit::Bool(value),
                        ..
                    }) = *assign.right
                    else {
                        cx.error_spanned_by(
                            &assign.right,
                            format!("expected `true` or `false` for `{key}`"),
                        );
                        continue;
                    };
                    if slot.replace(value).is_some() {
                        cx.error_spanned_by(key, format!("duplicate argument `{key}`"));
                    }
                }
                Expr::Path(path) if path.path.get_ident().is_some_and(is_flag) => {
                    let key = &path.path.segments[0].ident;
                    cx.error_spanned_by(
                        &path,
                        format!("expected a value: `{key} = true` or `{key} = false`"),
                    );
                }
                other if index == 0 => cx.error_spanned_by(
                    other,
                    "the method name must be a string literal, like `\"math.subtract\"`",
                ),
                Expr::Lit(ExprLit {
                    lit: Lit::Str(name),
                    ..
                }) => cx.error_spanned_by(name, "the method name must come first"),
                other => cx.error_spanned_by(
                    other,
                    format!("expected one of {FLAGS}, like `http = false`"),
                ),
            }
        }
        args
    }
}

fn single_ident(expr: &Expr) -> Option<&syn::Ident> {
    match expr {
        Expr::Path(path) if path.qself.is_none() && path.attrs.is_empty() => path.path.get_ident(),
        _ => None,
    }
}

fn is_flag(ident: &syn::Ident) -> bool {
    ident == "http" || ident == "websocket" || ident == "blocking"
}

/// The `#[rpc(...)]` attributes of one param.
#[derive(Default)]
pub(crate) struct ParamArgs {
    /// `#[rpc(name = "x")]`: the param's name in named calls.
    pub rename: Option<LitStr>,
    /// `#[rpc(rest)]`: collects the remaining positional params.
    pub rest: Option<syn::Path>,
}

impl ParamArgs {
    /// Reads and removes the `#[rpc(...)]` attributes, which mean nothing to rustc.
    pub(crate) fn take(cx: &Ctxt, attrs: &mut Vec<Attribute>) -> Self {
        let mut args = ParamArgs::default();
        for attr in attrs.iter().filter(|attr| attr.path().is_ident("rpc")) {
            let metas = match attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
            {
                Ok(metas) => metas,
                Err(err) => {
                    cx.syn_error(err);
                    continue;
                }
            };
            for meta in metas {
                args.apply(cx, meta);
            }
        }
        attrs.retain(|attr| !attr.path().is_ident("rpc"));
        args
    }

    fn apply(&mut self, cx: &Ctxt, meta: Meta) {
        match &meta {
            Meta::Path(path) if path.is_ident("rest") => {
                if self.rest.replace(path.clone()).is_some() {
                    cx.error_spanned_by(path, "duplicate argument `rest`");
                }
            }
            Meta::NameValue(pair) if pair.path.is_ident("name") => match &pair.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(name),
                    ..
                }) => {
                    if self.rename.replace(name.clone()).is_some() {
                        cx.error_spanned_by(&pair.path, "duplicate argument `name`");
                    }
                }
                other => cx.error_spanned_by(
                    other,
                    "the param name must be a string literal, like `name = \"x\"`",
                ),
            },
            _ => {
                let key = meta.path();
                let shown = key.to_token_stream().to_string().replace(' ', "");
                cx.error_spanned_by(
                    key,
                    format!(
                        "unknown param argument `{shown}`, expected `name = \"...\"` or `rest`"
                    ),
                );
            }
        }
    }
}

/// The arguments of `#[rpc_service(...)]`.
#[derive(Default)]
pub(crate) struct ServiceArgs {
    /// Prefixed to every method name, with a dot: `namespace = "math"` serves `math.add`.
    pub namespace: Option<LitStr>,
}

impl ServiceArgs {
    pub(crate) fn from_raw(cx: &Ctxt, raw: RawArgs) -> Self {
        let mut args = ServiceArgs::default();
        for arg in raw.0 {
            let Expr::Assign(assign) = &arg else {
                cx.error_spanned_by(&arg, "expected `namespace = \"...\"`");
                continue;
            };
            match single_ident(&assign.left) {
                Some(key) if key == "namespace" => match &*assign.right {
                    Expr::Lit(ExprLit {
                        lit: Lit::Str(namespace),
                        ..
                    }) => {
                        if args.namespace.replace(namespace.clone()).is_some() {
                            cx.error_spanned_by(key, "duplicate argument `namespace`");
                        }
                    }
                    other => cx.error_spanned_by(
                        other,
                        "the namespace must be a string literal, like `\"math\"`",
                    ),
                },
                Some(key) => cx.error_spanned_by(
                    key,
                    format!("unknown argument `{key}`, expected `namespace`"),
                ),
                None => cx.error_spanned_by(&assign.left, "expected `namespace`"),
            }
        }
        args
    }
}

/// Which macro attribute marks a trait method, if any: `#[rpc_method(...)]`,
/// `#[rpc_notification(...)]` or `#[rpc_subscription(...)]`, also written with a path such as
/// `rpc_runtime::rpc_method`.
pub(crate) fn method_attr_kind(attr: &Attribute) -> Option<Kind> {
    let last = attr.path().segments.last()?;
    if last.ident == "rpc_method" {
        Some(Kind::Method)
    } else if last.ident == "rpc_notification" {
        Some(Kind::Notification)
    } else if last.ident == "rpc_subscription" {
        Some(Kind::Subscription)
    } else {
        None
    }
}

/// The arguments of one such attribute.
pub(crate) fn method_attr_args(cx: &Ctxt, attr: &Attribute) -> MethodArgs {
    match &attr.meta {
        Meta::Path(_) => MethodArgs::default(),
        Meta::List(list) => match list.parse_args_with(RawArgs::parse) {
            Ok(raw) => MethodArgs::from_raw(cx, raw),
            Err(err) => {
                cx.syn_error(err);
                MethodArgs::default()
            }
        },
        Meta::NameValue(pair) => {
            cx.error_spanned_by(pair, "expected `#[rpc_method]` or `#[rpc_method(...)]`");
            MethodArgs::default()
        }
    }
}

/// Which of the three macros marks a function.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Method,
    Notification,
    Subscription,
}

impl Kind {
    pub(crate) fn attr(self) -> &'static str {
        match self {
            Kind::Method => "#[rpc_method]",
            Kind::Notification => "#[rpc_notification]",
            Kind::Subscription => "#[rpc_subscription]",
        }
    }
}
