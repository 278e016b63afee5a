//! `methods![a, b::c]`: a router from annotated functions, with duplicate names rejected at
//! compile time.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

// Input:  methods![subtract, math::add]
// Output: {
//     const __RPC_NAMES: &[&str] = &[<subtract as MethodDef>::NAME, <subtract as MethodDef>::UNSUBSCRIBE,
//                                    <math::add as MethodDef>::NAME, <math::add as MethodDef>::UNSUBSCRIBE];
//     const __RPC_PATHS: &[&str] = &["subtract", "subtract", "math::add", "math::add"];
//     const _: () = if let Some(message) = duplicate(__RPC_NAMES, __RPC_PATHS, 1) {
//         panic!("{}", message.as_str())
//     };                                                                 // and 2, 3
//     router(vec![<subtract as MethodDef>::descriptor(), <math::add as MethodDef>::descriptor()])
// }
pub(crate) fn expand_list(paths: &[syn::Path]) -> TokenStream {
    let p = quote!(::rpc_runtime::__private);
    // Spanned at each path, so "not an RPC method" and duplicates point at the entry at fault.
    let defs: Vec<_> = paths
        .iter()
        .map(|path| quote_spanned!(path.span()=> <#path as ::rpc_runtime::__private::method::MethodDef>))
        .collect();
    let shown: Vec<_> = paths
        .iter()
        .map(|path| quote!(#path).to_string().replace(' ', ""))
        .collect();
    // Each entry's name, then its unsubscribe name (empty but for subscriptions).
    let checks =
        paths.iter().enumerate().flat_map(|(index, path)| {
            [2 * index, 2 * index + 1].into_iter().skip(usize::from(index == 0)).map(move |slot| {
            quote_spanned! {path.span()=>
                const _: () = if let ::core::option::Option::Some(message) =
                    ::rpc_runtime::__private::list::duplicate(__RPC_NAMES, __RPC_PATHS, #slot)
                {
                    ::core::panic!("{}", message.as_str())
                };
            }
        })
        });
    let check = quote! {
        const __RPC_NAMES: &[&str] = &[#(#defs::NAME, #defs::UNSUBSCRIBE),*];
        const __RPC_PATHS: &[&str] = &[#(#shown, #shown),*];
        #(#checks)*
    };
    quote! {{
        #check
        #p::list::router(::std::vec![#(#defs::descriptor()),*])
    }}
}
