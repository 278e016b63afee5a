//! The typed client of an `#[rpc_service]` trait: its methods, with the same names and params,
//! as calls over any `RpcClient`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{Role, Service};
use crate::attr::Kind;

// Input:
//     pub trait Math { async fn add(&self, a: i64, b: i64) -> i64; }
// Output:
//     pub struct MathClient<C> { client: C }
//     impl<C: RpcClient> MathClient<C> {
//         pub fn add(&self, a: i64, b: i64)
//             -> impl Future<Output = Result<i64, ClientError>> + Send + use<'_, C> {
//             let mut params = PositionalParams::new();
//             params.push(&a);
//             params.push(&b);
//             call::<C, i64>(&self.client, "math.add", params.finish())
//         }
//     }
/// The client's methods serialize their params when called and borrow only the client, so
/// the future they return outlives the arguments.
pub(crate) fn expand_client(service: &Service) -> TokenStream {
    let p = quote!(::rpc_runtime::__private::client);
    let error = quote!(#p::ClientError);
    let vis = &service.item.vis;
    let trait_ident = &service.item.ident;
    let client = format_ident!("{}Client", trait_ident);
    let doc = format!(
        "A typed client of [`{trait_ident}`]: each method calls the server's, over any \
         [`RpcClient`](rpc_runtime::client::RpcClient)."
    );

    let methods = service.methods.iter().map(|method| {
        let ident = &method.sig.ident;
        // Without the trait method's docs, a line naming the call keeps `missing_docs` quiet.
        let default_doc = format!("Calls `{}` on the server.", method.name.value());
        let docs = match method.docs.as_slice() {
            [] => quote!(#[doc = #default_doc]),
            docs => quote!(#(#docs)*),
        };
        let name = &method.name;
        let params: Vec<_> = method.rpc_params().collect();
        let idents = params.iter().map(|param| &param.ident);
        let types = params.iter().map(|param| &param.ty);
        // Spanned at the user's types, so a missing `Serialize` (params) or `Deserialize`
        // (result) impl, which only the client needs, is reported there.
        let pushes = params.iter().map(|param| {
            let (ident, ty) = (&param.ident, &param.ty);
            match param.role {
                Role::Rest(_) => quote_spanned!(ty.span()=> __rpc_params.extend(&#ident);),
                _ => quote_spanned!(ty.span()=> __rpc_params.push::<#ty>(&#ident);),
            }
        });
        let span = method.output.span(&method.sig);
        let params = quote!(__rpc_params.finish());
        let (output, bound, send) = match method.kind {
            Kind::Subscription => {
                let item = method.item_type();
                let unsubscribe = method.subscription.as_ref().map(|names| &names.unsubscribe);
                (
                    quote!(#p::Subscription<#item>),
                    Some(quote!(where C: #p::SubscriptionClient)),
                    quote_spanned!(span=> #p::subscribe::<C, #item>(&self.client, #name, #params, #unsubscribe)),
                )
            }
            Kind::Method => {
                let success = method.output.success_type();
                (
                    quote!(#success),
                    None,
                    quote_spanned!(span=> #p::call::<C, #success>(&self.client, #name, #params)),
                )
            }
            Kind::Notification => (
                quote!(()),
                None,
                quote!(#p::notify::<C>(&self.client, #name, #params)),
            ),
        };
        // Spanned too: the future's output is checked where it is named.
        let returns = quote_spanned! {span=>
            -> impl ::core::future::Future<Output = ::core::result::Result<#output, #error>>
                + ::core::marker::Send
                + use<'_, C>
        };
        quote! {
            #docs
            #vis fn #ident(&self, #(#idents: #types),*) #returns #bound {
                let mut __rpc_params = #p::PositionalParams::new();
                #(#pushes)*
                #send
            }
        }
    });

    quote! {
        #[doc = #doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        #vis struct #client<C> {
            client: C,
        }

        impl<C> #client<C> {
            /// Calls the service through `client`.
            #vis fn new(client: C) -> Self {
                #client { client }
            }
        }

        impl<C> ::core::convert::AsRef<C> for #client<C> {
            fn as_ref(&self) -> &C {
                &self.client
            }
        }

        impl<C: #p::RpcClient> #client<C> {
            #(#methods)*
        }
    }
}
