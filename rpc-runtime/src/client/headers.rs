//! Headers a client sends, given as strings or as `http`'s types.

/// A header a client sends, from anything that names one: strings (`("x-user", "alice")`) or
/// `http`'s types. What is not a valid name or value says why.
fn header<K, V>(name: K, value: V) -> Result<(http::HeaderName, http::HeaderValue), String>
where
    K: TryInto<http::HeaderName>,
    K::Error: std::fmt::Display,
    V: TryInto<http::HeaderValue>,
    V::Error: std::fmt::Display,
{
    let name = name
        .try_into()
        .map_err(|err| format!("invalid header name: {err}"))?;
    let value = value
        .try_into()
        .map_err(|err| format!("invalid value for header {name}: {err}"))?;
    Ok((name, value))
}

/// Headers for a client's requests, and the first invalid one given, reported when the client
/// is made rather than by a panic in a builder method: the one way every client builder
/// (`HttpClient`'s, `WsClient`'s, `TestClient`'s) takes headers. A name given again replaces
/// its value.
#[derive(Debug, Default)]
pub(crate) struct Headers {
    map: http::HeaderMap,
    invalid: Option<String>,
}

impl Headers {
    pub(crate) fn insert<K, V>(&mut self, name: K, value: V)
    where
        K: TryInto<http::HeaderName>,
        K::Error: std::fmt::Display,
        V: TryInto<http::HeaderValue>,
        V::Error: std::fmt::Display,
    {
        match header(name, value) {
            Ok((name, value)) => {
                self.map.insert(name, value);
            }
            Err(err) => {
                self.invalid.get_or_insert(err);
            }
        }
    }

    /// The headers, or what was wrong with the first invalid one.
    pub(crate) fn into_result(self) -> Result<http::HeaderMap, String> {
        match self.invalid {
            Some(err) => Err(err),
            None => Ok(self.map),
        }
    }

    /// The headers, or the first invalid one as the error a client's `build`/`connect` returns.
    #[cfg(feature = "client")]
    pub(crate) fn into_map(self) -> Result<http::HeaderMap, super::ClientError> {
        self.into_result()
            .map_err(|err| super::ClientError::Transport(err.into()))
    }
}
