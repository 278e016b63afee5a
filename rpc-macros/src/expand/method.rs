//! The glue beside one annotated function: a same-named struct carrying its descriptor, and
//! the handler that reads the params and calls the function.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{Kind, Method, Output, Role};

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
//                 fn __rpc_handler(cx: Context, params: Params<'_>) -> Result<Outcome, RpcError> {
//                     let reader = params.reader(&["minuend", "subtrahend"], false)?;
//                     let __rpc_arg0 = reader.required::<i64>(0)?;
//                     let __rpc_arg1 = reader.required::<i64>(1)?;
//                     Ok(pending(async move { encode_result(subtract(__rpc_arg0, __rpc_arg1).await) }))
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
    let kind = match method.kind {
        Kind::Method => quote!(#p::MethodKind::Call),
        Kind::Notification => quote!(#p::MethodKind::Notification),
    };
    let http = method.args.http.as_ref().is_none_or(|flag| flag.value);
    let websocket = method.args.websocket.as_ref().is_none_or(|flag| flag.value);
    let rust_path = fn_ident.to_string();

    let rpc_params: Vec<_> = method
        .params
        .iter()
        .filter(|p| !matches!(p.role, Role::Context))
        .collect();
    let count = rpc_params.len();
    let json_names = rpc_params.iter().map(|param| param.json_name());
    let variadic = rpc_params
        .iter()
        .any(|param| matches!(param.role, Role::Rest(_)));

    let mut index = 0usize;
    let args: Vec<_> = (0..method.params.len())
        .map(|i| format_ident!("__rpc_arg{i}"))
        .collect();
    let reads = method.params.iter().zip(&args).map(|(param, arg)| {
        let ty = &param.ty;
        let read = match &param.role {
            Role::Context => return quote!(let #arg = __rpc_cx;),
            // Spanned at the user's type, so a missing `Deserialize` impl is reported there.
            Role::Required => quote_spanned!(ty.span()=> __rpc_reader.required::<#ty>(#index)),
            Role::Optional(inner) => {
                quote_spanned!(ty.span()=> __rpc_reader.optional::<#inner>(#index))
            }
            Role::Rest(inner) => quote_spanned!(ty.span()=> __rpc_reader.rest::<#inner>(#index)),
        };
        index += 1;
        quote!(let #arg = #read?;)
    });

    let call = if method.is_async() {
        quote!(#fn_ident(#(#args),*).await)
    } else {
        quote!(#fn_ident(#(#args),*))
    };
    // Spanned at the return type, path included (an interpolated `#p` would keep the call
    // site's span), so a missing `Serialize` or `From` impl is reported there.
    let encode = match &method.output {
        Output::Unit => quote!({ #call; #p::encode(&()) }),
        Output::Value(ty) => quote_spanned! {ty.span()=>
            { let __rpc_value = #call; ::rpc_runtime::__private::encode(&__rpc_value) }
        },
        Output::Fallible(ty) => quote_spanned! {ty.span()=>
            { let __rpc_value = #call; ::rpc_runtime::__private::encode_result(__rpc_value) }
        },
    };
    let blocking = method.args.blocking.as_ref().is_some_and(|flag| flag.value);
    let start = if method.is_async() {
        quote!(#p::pending(async move { #encode }))
    } else if blocking {
        quote!(#p::blocking(move || #encode))
    } else {
        quote!(#p::Outcome::Ready(#encode))
    };

    quote! {
        #item

        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #vis struct #fn_ident {}

        const _: () = {
            impl #p::MethodDef for #fn_ident {
                const NAME: &'static str = #name;

                fn descriptor() -> #p::MethodDescriptor {
                    #[allow(unused_variables)]
                    fn __rpc_handler(
                        __rpc_cx: #p::Context,
                        __rpc_params: #p::Params<'_>,
                    ) -> ::core::result::Result<#p::Outcome, #p::RpcError> {
                        let __rpc_reader = __rpc_params.reader::<#count>(&[#(#json_names),*], #variadic)?;
                        #(#reads)*
                        ::core::result::Result::Ok(#start)
                    }
                    #p::MethodDescriptor::new(
                        #name,
                        ::core::concat!(::core::module_path!(), "::", #rust_path),
                        #kind,
                        #http,
                        #websocket,
                        __rpc_handler,
                    )
                }
            }
        };
    }
}
