//! stub
use proc_macro::TokenStream;
#[proc_macro_attribute] pub fn rpc_method(_a: TokenStream, i: TokenStream) -> TokenStream { i }
#[proc_macro_attribute] pub fn rpc_notification(_a: TokenStream, i: TokenStream) -> TokenStream { i }
#[proc_macro] pub fn methods(_i: TokenStream) -> TokenStream { TokenStream::new() }
