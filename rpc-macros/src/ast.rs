//! A model of one annotated function: its JSON-RPC name, its params and what it returns.
//!
//! Building the model reports the mistakes confined to one token (a `self` receiver, a pattern,
//! a borrowed type); rules that relate several parts are `check`'s.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, Ident, LitStr, Pat, PathArguments, ReturnType, Signature, Type};

use crate::attr::{MethodArgs, ParamArgs};
use crate::ctxt::Ctxt;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Method,
    Notification,
}

impl Kind {
    pub(crate) fn attr(self) -> &'static str {
        match self {
            Kind::Method => "#[rpc_method]",
            Kind::Notification => "#[rpc_notification]",
        }
    }
}

pub(crate) struct Method {
    pub kind: Kind,
    pub args: MethodArgs,
    pub vis: syn::Visibility,
    /// The signature with the `#[rpc(...)]` param attributes removed.
    pub sig: Signature,
    /// The JSON-RPC name: the attribute's literal, or the function's name.
    pub name: LitStr,
    pub params: Vec<Param>,
    pub output: Output,
}

pub(crate) struct Param {
    /// The binding, which is also the name in named calls unless renamed.
    pub ident: Ident,
    pub ty: Type,
    pub role: Role,
    pub rename: Option<LitStr>,
    /// The `rest` token of `#[rpc(rest)]`, for errors about it.
    pub rest: Option<syn::Path>,
}

pub(crate) enum Role {
    /// Injected from the call's [`Context`], never read from the params.
    Context,
    Required,
    /// `Option<T>`, holding `T`: may be omitted.
    Optional(Type),
    /// `#[rpc(rest)]`; holds `T` of `Vec<T>`, or `None` if the type is not a `Vec`.
    Rest(Option<Type>),
}

pub(crate) enum Output {
    /// No return type, or `()`.
    Unit,
    /// `Result<T, E>`, told apart by its last path segment.
    Fallible(Type),
    Value(Type),
}

impl Param {
    /// The name this param has in named calls.
    pub(crate) fn json_name(&self) -> String {
        match &self.rename {
            Some(name) => name.value(),
            None => self.ident.unraw().to_string(),
        }
    }
}

impl Method {
    pub(crate) fn from_syn(
        cx: &Ctxt,
        kind: Kind,
        args: MethodArgs,
        vis: syn::Visibility,
        mut sig: Signature,
    ) -> Method {
        let mut params = Vec::new();
        for input in &mut sig.inputs {
            match input {
                FnArg::Receiver(receiver) => cx.error_spanned_by(
                    receiver,
                    format!(
                        "`{}` cannot be used on methods with a `self` receiver",
                        kind.attr()
                    ),
                ),
                FnArg::Typed(typed) => {
                    let args = ParamArgs::take(cx, &mut typed.attrs);
                    if let Some(param) = Param::from_syn(cx, kind, args, &typed.pat, &typed.ty) {
                        params.push(param);
                    }
                }
            }
        }
        let name = match &args.name {
            Some(name) => name.clone(),
            None => LitStr::new(&sig.ident.unraw().to_string(), sig.ident.span()),
        };
        let output = Output::from_syn(&sig.output);
        Method {
            kind,
            args,
            vis,
            sig,
            name,
            params,
            output,
        }
    }

    pub(crate) fn is_async(&self) -> bool {
        self.sig.asyncness.is_some()
    }
}

impl Param {
    fn from_syn(cx: &Ctxt, kind: Kind, args: ParamArgs, pat: &Pat, ty: &Type) -> Option<Param> {
        let ident = match pat {
            Pat::Ident(binding) if binding.by_ref.is_none() && binding.subpat.is_none() => {
                binding.ident.clone()
            }
            _ => {
                cx.error_spanned_by(
                    pat,
                    format!(
                        "`{}` params must be plain names, not patterns: bind it to a name and destructure it in the body",
                        kind.attr()
                    ),
                );
                return None;
            }
        };
        if let Type::Reference(reference) = ty {
            cx.error_spanned_by(reference, borrowed_help(&reference.elem));
            return None;
        }
        let role = if args.rest.is_some() {
            Role::Rest(generic_arg(ty, "Vec").cloned())
        } else if is_context(ty) {
            Role::Context
        } else if let Some(inner) = generic_arg(ty, "Option") {
            Role::Optional(inner.clone())
        } else {
            Role::Required
        };
        Some(Param {
            ident,
            ty: ty.clone(),
            role,
            rename: args.rename,
            rest: args.rest,
        })
    }
}

fn borrowed_help(elem: &Type) -> String {
    let owned = if last_segment_is(elem, "str") {
        "use `String`".to_owned()
    } else if is_context(elem) {
        "take `Context` by value; it is cheap to clone".to_owned()
    } else if let Type::Slice(slice) = elem {
        let item = &slice.elem;
        format!(
            "use `Vec<{}>`",
            quote::quote!(#item).to_string().replace(' ', "")
        )
    } else {
        "take the param by value".to_owned()
    };
    format!("params cannot be borrowed, since they are read from the request: {owned}")
}

impl Output {
    fn from_syn(output: &ReturnType) -> Output {
        match output {
            ReturnType::Default => Output::Unit,
            ReturnType::Type(_, ty) => match &**ty {
                Type::Tuple(tuple) if tuple.elems.is_empty() => Output::Unit,
                ty if last_segment_is(ty, "Result") => Output::Fallible(ty.clone()),
                ty => Output::Value(ty.clone()),
            },
        }
    }

    /// The span to blame for problems with the return type.
    pub(crate) fn span(&self, sig: &Signature) -> Span {
        match &sig.output {
            ReturnType::Default => sig.paren_token.span.close(),
            ReturnType::Type(_, ty) => ty.span(),
        }
    }
}

/// `Context`, `rpc_runtime::Context` or any path ending in a bare `Context`.
fn is_context(ty: &Type) -> bool {
    last_segment(ty).is_some_and(|seg| seg.ident == "Context" && seg.arguments.is_none())
}

fn last_segment_is(ty: &Type, name: &str) -> bool {
    last_segment(ty).is_some_and(|seg| seg.ident == name)
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last(),
        Type::Group(group) => last_segment(&group.elem),
        _ => None,
    }
}

/// `T` of `Name<T>`.
fn generic_arg<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let segment = last_segment(ty).filter(|seg| seg.ident == name)?;
    let PathArguments::AngleBracketed(args) = &segment.arguments else {
        return None;
    };
    match args.args.first() {
        Some(GenericArgument::Type(inner)) if args.args.len() == 1 => Some(inner),
        _ => None,
    }
}
