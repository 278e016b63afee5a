//! What a type's spelling says, before any type is known: the predicates the model reads
//! params and returns with. A macro sees tokens only, so these go by path segments
//! (`rpc_runtime::Context` and `Context` alike).

use syn::{GenericArgument, PathArguments, Type};

/// `T` of a stream of `T`: `impl Stream<Item = T>`, `Box<dyn Stream<Item = T>>` (pinned or
/// not), `BoxStream<'_, T>`.
pub(crate) fn stream_item(ty: &Type) -> Option<Type> {
    let bounds = match ty {
        Type::ImplTrait(impl_trait) => &impl_trait.bounds,
        Type::TraitObject(object) => &object.bounds,
        Type::Group(group) => return stream_item(&group.elem),
        Type::Paren(paren) => return stream_item(&paren.elem),
        ty => {
            let segment = last_segment(ty)?;
            let PathArguments::AngleBracketed(args) = &segment.arguments else {
                return None;
            };
            let mut types = args.args.iter().filter_map(|arg| match arg {
                GenericArgument::Type(ty) => Some(ty),
                _ => None,
            });
            return match segment.ident.to_string().as_str() {
                "Pin" | "Box" => stream_item(types.next()?),
                "BoxStream" => types.next().cloned(),
                _ => None,
            };
        }
    };
    bounds.iter().find_map(|bound| {
        let syn::TypeParamBound::Trait(bound) = bound else {
            return None;
        };
        let segment = bound.path.segments.last()?;
        let PathArguments::AngleBracketed(args) = &segment.arguments else {
            return None;
        };
        args.args.iter().find_map(|arg| match arg {
            GenericArgument::AssocType(assoc) if assoc.ident == "Item" => Some(assoc.ty.clone()),
            _ => None,
        })
    })
}

/// `Context`, `rpc_runtime::Context` or any path ending in a bare `Context`.
pub(crate) fn is_context(ty: &Type) -> bool {
    is_named(ty, "Context")
}

/// A path ending in a bare `name`, without generic arguments.
pub(crate) fn is_named(ty: &Type, name: &str) -> bool {
    last_segment(ty).is_some_and(|seg| seg.ident == name && seg.arguments.is_none())
}

pub(crate) fn last_segment_is(ty: &Type, name: &str) -> bool {
    last_segment(ty).is_some_and(|seg| seg.ident == name)
}

pub(crate) fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last(),
        Type::Group(group) => last_segment(&group.elem),
        _ => None,
    }
}

/// `T` of `Name<T>`.
pub(crate) fn generic_arg<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let segment = last_segment(ty).filter(|seg| seg.ident == name)?;
    let PathArguments::AngleBracketed(args) = &segment.arguments else {
        return None;
    };
    match args.args.first() {
        Some(GenericArgument::Type(inner)) if args.args.len() == 1 => Some(inner),
        _ => None,
    }
}
