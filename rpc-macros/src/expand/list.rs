//! `methods![a, b::c]`: a router from annotated functions, with duplicate names rejected at
//! compile time.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

// Input:  methods![subtract, math::add]
// Output: {
//     const __RPC_NAMES: &[&str] = &[<subtract as MethodDef>::NAME, <math::add as MethodDef>::NAME];
//     const _: () = assert_unique_name(__RPC_NAMES, &["subtract", "math::add"], 1);
//     router(vec![<subtract as MethodDef>::descriptor(), <math::add as MethodDef>::descriptor()])
// }
pub(crate) fn expand_list(paths: &[syn::Path]) -> TokenStream {
    let p = quote!(::rpc_runtime::__private);
    // Spanned at each path, so "not an RPC method" and duplicates point at the entry at fault.
    let defs: Vec<_> = paths
        .iter()
        .map(|path| quote_spanned!(path.span()=> <#path as ::rpc_runtime::__private::MethodDef>))
        .collect();
    let shown: Vec<_> = paths
        .iter()
        .map(|path| quote!(#path).to_string().replace(' ', ""))
        .collect();
    let checks = paths.iter().enumerate().skip(1).map(|(index, path)| {
        quote_spanned! {path.span()=>
            const _: () = ::rpc_runtime::__private::assert_unique_name(__RPC_NAMES, __RPC_PATHS, #index);
        }
    });
    // A list of one has nothing to compare, and its consts would go unused.
    let check = (paths.len() > 1).then(|| {
        quote! {
            const __RPC_NAMES: &[&str] = &[#(#defs::NAME),*];
            const __RPC_PATHS: &[&str] = &[#(#shown),*];
            #(#checks)*
        }
    });
    quote! {{
        #check
        #p::router(::std::vec![#(#defs::descriptor()),*])
    }}
}
