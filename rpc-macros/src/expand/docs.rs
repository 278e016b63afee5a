//! What `rpc.discover` says of a method: its doc comment, its params' names and schemas, and its
//! result's (a subscription's: its id, and its items').

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, Lit, Meta, Type};

use crate::ast::{Method, Role};
use crate::attr::Kind;

// Input:
//     /// Subtracts.
//     fn subtract(minuend: i64, subtrahend: Option<i64>) -> Result<i64, RpcError>
// Output:
//     .with_docs(Docs {
//         doc: "Subtracts.",
//         params: vec![
//             ParamDoc { name: "minuend", required: true, schema: schema::<i64>() },
//             ParamDoc { name: "subtrahend", required: false, schema: schema::<Option<i64>>() },
//         ],
//         result: schema::<i64>(),
//         item: None,
//     })
/// The descriptor's docs. Each schema is asked for at the user's type, so that a type without
/// one is reported there.
pub(crate) fn with_docs(method: &Method) -> TokenStream {
    let p = quote!(::rpc_runtime::__private::method);
    let doc = doc_text(&method.docs);
    let params = method.rpc_params().map(|param| {
        let name = param.json_name();
        let required = matches!(param.role, Role::Required);
        let schema = schema(&param.ty);
        quote!(#p::ParamDoc { name: #name, required: #required, schema: #schema })
    });
    let none = quote!(::core::option::Option::None);
    let (result, item) = match method.kind {
        Kind::Notification => (none.clone(), none),
        Kind::Subscription => {
            let item = method
                .item_type()
                .map_or_else(|| none.clone(), |ty| schema(&ty));
            (quote!(#p::schema::<u64>()), item)
        }
        Kind::Method => {
            let result = method.output.success_type();
            (result.map_or_else(|| none.clone(), |ty| schema(&ty)), none)
        }
    };
    quote! {
        .with_docs(#p::Docs {
            doc: #doc,
            params: ::std::vec![#(#params),*],
            result: #result,
            item: #item,
        })
    }
}

fn schema(ty: &Type) -> TokenStream {
    quote_spanned!(ty.span()=> ::rpc_runtime::__private::method::schema::<#ty>())
}

/// The doc comment's text, as rustdoc reads it: one line per `///`, each without the space
/// that follows the slashes.
fn doc_text(docs: &[syn::Attribute]) -> String {
    let lines = docs.iter().filter_map(|attr| match &attr.meta {
        Meta::NameValue(doc) => match &doc.value {
            Expr::Lit(lit) => match &lit.lit {
                Lit::Str(text) => Some(text.value()),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    });
    let lines: Vec<String> = lines
        .map(|line| line.strip_prefix(' ').unwrap_or(&line).to_owned())
        .collect();
    lines.join("\n")
}
