//! The glue beside one annotated free function: a same-named struct carrying its descriptor.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

use super::handler;
use crate::ast::Method;

// Input:
//     #[rpc_method("math.subtract")]
//     pub async fn subtract(minuend: i64, subtrahend: i64) -> Result<i64, RpcError> { .. }
// Output:
//     pub async fn subtract(minuend: i64, subtrahend: i64) -> Result<i64, RpcError> { .. }
//     pub struct subtract {}
//     const _: () = {
//         impl MethodDef for subtract {
//             const NAME: &str = "math.subtract";
//             fn descriptor() -> MethodDescriptor {
//                 fn __rpc_handler(__rpc_cx: Context, __rpc_params: Params<'_>) -> Result<Outcome, RpcError> {
//                     /* handler::body: read params, call `subtract`, encode */
//                 }
//                 MethodDescriptor::new("math.subtract", "crate::subtract", Kind::Call, true, true, __rpc_handler)
//             }
//         }
//     };
pub(crate) fn expand_method(method: &Method, item: TokenStream) -> TokenStream {
    let p = quote!(::rpc_runtime::__private);
    let fn_ident = &method.sig.ident;
    let vis = &method.vis;
    let name = &method.name;
    let body = handler::body(method, fn_ident.to_token_stream(), TokenStream::new());
    let descriptor =
        handler::descriptor_args(method, &name.to_token_stream(), &fn_ident.to_string());
    let extras = handler::descriptor_extras(method);
    let unsubscribe = method.subscription.as_ref().map(|names| {
        let unsubscribe = &names.unsubscribe;
        quote!(const UNSUBSCRIBE: &'static str = #unsubscribe;)
    });

    quote! {
        #item

        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #vis struct #fn_ident {}

        const _: () = {
            impl #p::method::MethodDef for #fn_ident {
                const NAME: &'static str = #name;
                #unsubscribe

                fn descriptor() -> #p::method::MethodDescriptor {
                    #[allow(unused_variables)]
                    fn __rpc_handler(
                        __rpc_cx: #p::method::Context,
                        __rpc_params: #p::method::Params<'_>,
                    ) -> ::core::result::Result<#p::method::Outcome, #p::method::RpcError> {
                        #body
                    }
                    #p::method::MethodDescriptor::new(#descriptor, __rpc_handler)#extras
                }
            }
        };
    }
}
