//! Headers a client sends, given as strings or as `http`'s types.

/// A header a client sends, from anything that names one: strings (`("x-user", "alice")`) or
/// `http`'s types. What is not a valid name or value says why.
pub(crate) fn header<K, V>(
    name: K,
    value: V,
) -> Result<(http::HeaderName, http::HeaderValue), String>
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
/// is built rather than by a panic in a builder method.
#[cfg(feature = "client")]
#[derive(Debug, Default)]
pub(crate) struct Headers {
    map: http::HeaderMap,
    invalid: Option<String>,
}

#[cfg(feature = "client")]
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

    /// The headers, or the first invalid one as an error.
    pub(crate) fn into_map(self) -> Result<http::HeaderMap, super::ClientError> {
        match self.invalid {
            Some(err) => Err(super::ClientError::Transport(err.into())),
            None => Ok(self.map),
        }
    }
}
