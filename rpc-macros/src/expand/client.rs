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
//         pub async fn add(&self, a: i64, b: i64) -> Result<i64, ClientError> {
//             let mut params = PositionalParams::new();
//             params.push(&a)?;
//             params.push(&b)?;
//             decode(&self.client.call_raw("math.add", params.finish()?).await?)
//         }
//     }
pub(crate) fn expand_client(service: &Service) -> TokenStream {
    let p = quote!(::rpc_runtime::__private);
    let client_trait = quote!(::rpc_runtime::__private::client::RpcClient);
    let error = quote!(::rpc_runtime::__private::client::ClientError);
    let vis = &service.item.vis;
    let trait_ident = &service.item.ident;
    let client = format_ident!("{}Client", trait_ident);
    let doc = format!(
        "A typed client of [`{trait_ident}`]: each method calls the server's, over any [`RpcClient`]({client_trait})."
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
                Role::Rest(_) => quote_spanned!(ty.span()=> __rpc_params.extend(&#ident)?;),
                _ => quote_spanned!(ty.span()=> __rpc_params.push::<#ty>(&#ident)?;),
            }
        });
        let success = method.output.success_type();
        let span = method.output.span(&method.sig);
        let mut bound = None;
        let (output, send) = match method.kind {
            Kind::Subscription => {
                let item = method.item_type();
                let unsubscribe = method.subscription.as_ref().map(|names| &names.unsubscribe);
                bound = Some(quote!(where C: ::rpc_runtime::__private::client::SubscriptionClient));
                (quote!(::rpc_runtime::__private::client::Subscription<#item>), {
                    let subscribe = quote!(::rpc_runtime::__private::client::SubscriptionClient::subscribe_raw(&self.client, #name, __rpc_params.finish()?, #unsubscribe).await?);
                    quote_spanned!(span=> ::core::result::Result::Ok(::rpc_runtime::__private::client::typed_subscription::<#item>(#subscribe)))
                })
            }
            Kind::Method => (quote!(#success), {
                let call = quote!(#client_trait::call_raw(&self.client, #name, __rpc_params.finish()?).await?);
                quote_spanned!(span=> ::rpc_runtime::__private::client::decode::<#success>(&#call))
            }),
            Kind::Notification => (
                quote!(()),
                quote!(#client_trait::notify_raw(&self.client, #name, __rpc_params.finish()?).await),
            ),
        };
        quote! {
            #docs
            #vis async fn #ident(&self, #(#idents: #types),*) -> ::core::result::Result<#output, #error> #bound {
                let mut __rpc_params = #p::client::PositionalParams::new();
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

        impl<C: #client_trait> #client<C> {
            #(#methods)*
        }
    }
}
