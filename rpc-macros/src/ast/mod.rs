//! A model of one annotated function: its JSON-RPC name, its params and what it returns.
//!
//! Building the model reports the mistakes confined to one token (a `self` receiver, a pattern,
//! a borrowed type); rules that relate several parts are `check`'s. A trait's model, `Service`,
//! is a list of these (`service.rs`).

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, Ident, LitStr, Pat, PathArguments, ReturnType, Signature, Type};

mod service;

pub(crate) use service::Service;

use crate::attr::{Kind, MethodArgs, ParamArgs};
use crate::ctxt::Ctxt;
use crate::types::{generic_arg, is_context, is_named, last_segment, last_segment_is, stream_item};

/// Where the annotated function lives, which decides its receiver.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A free function: no receiver.
    Function,
    /// A method of an `#[rpc_service]` trait: `&self`, the shared service.
    Service,
}

impl Origin {
    /// The attribute to name in messages about a method of this origin.
    fn attr(self, kind: Kind) -> &'static str {
        match self {
            Origin::Function => kind.attr(),
            Origin::Service => "#[rpc_service]",
        }
    }
}

pub(crate) struct Method {
    pub kind: Kind,
    pub origin: Origin,
    pub args: MethodArgs,
    pub vis: syn::Visibility,
    /// The signature with the `#[rpc(...)]` param attributes removed.
    pub sig: Signature,
    /// The JSON-RPC name: the attribute's literal, or the function's name.
    pub name: LitStr,
    pub params: Vec<Param>,
    pub output: Output,
    /// A subscription's other names; `None` for other kinds, and for a subscription whose
    /// names cannot be derived (which `check` reports).
    pub subscription: Option<SubscriptionNames>,
    /// Doc comments, which `rpc.discover` gives and a service's typed client repeats.
    pub docs: Vec<syn::Attribute>,
}

/// The names a subscription is registered with besides its own.
pub(crate) struct SubscriptionNames {
    /// The method that ends a subscription.
    pub unsubscribe: LitStr,
    /// The method of the notifications that carry its items.
    pub notification: LitStr,
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
    /// The WebSocket connection the call arrived on, injected; the method exists on WebSocket
    /// only.
    Connection,
    Required,
    /// `Option<T>`, holding `T`: may be omitted.
    Optional(Type),
    /// `#[rpc(rest)]`; holds `T` of `Vec<T>`, or `None` if the type is not a `Vec`.
    Rest(Option<Type>),
}

impl Role {
    /// Whether the param is supplied by the runtime rather than read from the request.
    pub(crate) fn is_injected(&self) -> bool {
        matches!(self, Role::Context | Role::Connection)
    }
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
        origin: Origin,
        args: MethodArgs,
        vis: syn::Visibility,
        mut sig: Signature,
    ) -> Method {
        let attr = origin.attr(kind);
        let mut params = Vec::new();
        let mut has_receiver = false;
        for input in &mut sig.inputs {
            match input {
                FnArg::Receiver(receiver) if origin == Origin::Function => cx.error_spanned_by(
                    receiver,
                    format!("`{attr}` cannot be used on methods with a `self` receiver"),
                ),
                FnArg::Receiver(receiver) => {
                    has_receiver = true;
                    let shared_ref = receiver.reference.is_some()
                        && receiver.mutability.is_none()
                        && receiver.colon_token.is_none();
                    if !shared_ref {
                        cx.error_spanned_by(receiver, SERVICE_RECEIVER);
                    }
                }
                FnArg::Typed(typed) => {
                    let args = ParamArgs::take(cx, &mut typed.attrs);
                    if let Some(param) = Param::from_syn(cx, attr, args, &typed.pat, &typed.ty) {
                        params.push(param);
                    }
                }
            }
        }
        if origin == Origin::Service && !has_receiver {
            cx.error_spanned_by(&sig.ident, SERVICE_RECEIVER);
        }
        let name = match &args.name {
            Some(name) => name.clone(),
            None => LitStr::new(&sig.ident.unraw().to_string(), sig.ident.span()),
        };
        let output = Output::from_syn(&sig.output);
        let subscription = (kind == Kind::Subscription)
            .then(|| SubscriptionNames::new(&name, &args))
            .flatten();
        Method {
            kind,
            origin,
            args,
            vis,
            sig,
            name,
            params,
            output,
            subscription,
            docs: Vec::new(),
        }
    }

    /// The type of a subscription's items, read from its return type.
    pub(crate) fn item_type(&self) -> Option<Type> {
        let stream = match &self.output {
            Output::Value(ty) => ty.clone(),
            Output::Fallible(_) => self.output.success_type()?,
            Output::Unit => return None,
        };
        stream_item(&stream)
    }

    pub(crate) fn is_async(&self) -> bool {
        self.sig.asyncness.is_some()
    }

    /// The attribute to name in messages about this method.
    pub(crate) fn attr(&self) -> &'static str {
        self.origin.attr(self.kind)
    }

    /// The params read from the request, in order: all but the injected ones.
    pub(crate) fn rpc_params(&self) -> impl Iterator<Item = &Param> {
        self.params.iter().filter(|param| !param.role.is_injected())
    }

    /// The `Connection` param, if there is one.
    pub(crate) fn connection_param(&self) -> Option<&Param> {
        self.params
            .iter()
            .find(|param| matches!(param.role, Role::Connection))
    }
}

impl SubscriptionNames {
    /// The names given, or derived from a name that starts with `subscribe`:
    /// `subscribe_ticks` is ended by `unsubscribe_ticks` and sends `ticks`.
    fn new(name: &LitStr, args: &MethodArgs) -> Option<SubscriptionNames> {
        let value = name.value();
        // Derived within a namespace's last segment: `feed.subscribe_ticks` sends `feed.ticks`.
        let (namespace, local) = match value.rfind('.') {
            Some(dot) => value.split_at(dot + 1),
            None => ("", value.as_str()),
        };
        let derived = |derived: Option<String>| derived.map(|text| LitStr::new(&text, name.span()));
        let unsubscribe = args.unsubscribe.clone().or_else(|| {
            derived(
                local
                    .starts_with("subscribe")
                    .then(|| format!("{namespace}un{local}")),
            )
        })?;
        let notification = args.notification.clone().or_else(|| {
            derived(
                local
                    .strip_prefix("subscribe_")
                    .filter(|rest| !rest.is_empty())
                    .map(|rest| format!("{namespace}{rest}")),
            )
        })?;
        Some(SubscriptionNames {
            unsubscribe,
            notification,
        })
    }
}

const SERVICE_RECEIVER: &str =
    "`#[rpc_service]` methods take `&self`: one service value serves every call";

impl Param {
    fn from_syn(cx: &Ctxt, attr: &str, args: ParamArgs, pat: &Pat, ty: &Type) -> Option<Param> {
        let ident = match pat {
            Pat::Ident(binding) if binding.by_ref.is_none() && binding.subpat.is_none() => {
                binding.ident.clone()
            }
            _ => {
                cx.error_spanned_by(
                    pat,
                    format!(
                        "`{attr}` params must be plain names, not patterns: bind it to a name and destructure it in the body"
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
        } else if is_named(ty, "Connection") {
            Role::Connection
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
    } else if is_named(elem, "Connection") {
        "take `Connection` by value; it is cheap to clone".to_owned()
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

/// The doc comments among `attrs`.
pub(crate) fn doc_attrs(attrs: &[syn::Attribute]) -> Vec<syn::Attribute> {
    let docs = attrs.iter().filter(|attr| attr.path().is_ident("doc"));
    docs.cloned().collect()
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

    /// What a successful call returns to a client: the `Ok` type of a `Result`. `None` for a
    /// `Result` written without type arguments (an alias), whose `Ok` type cannot be read.
    pub(crate) fn success_type(&self) -> Option<Type> {
        match self {
            Output::Unit => Some(syn::parse_quote!(())),
            Output::Value(ty) => Some(ty.clone()),
            Output::Fallible(ty) => match &last_segment(ty)?.arguments {
                PathArguments::AngleBracketed(args) => args.args.iter().find_map(|arg| match arg {
                    GenericArgument::Type(ok) => Some(ok.clone()),
                    _ => None,
                }),
                _ => None,
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
