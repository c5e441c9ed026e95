//! A deck's list as a link writes it (`deck=`): the items of a talk separated by `,`, a link item
//! percent-encoded inside the list so its own `&`, `=` and `,` (a sweep's values) survive:
//! `deck=e1,task%3Dxor%26r%3D4`, which the address bar shows encoded once more. A hand-typed
//! `deck=e1,task=xor` still reads. What an item is (a preset or a link) is `link::deck`'s.

/// At most this many slides: a talk, not a batch job (each is a link the page parses).
pub const MAX_SLIDES: usize = 40;
/// The longest `deck=` value read (a link item is a few hundred characters at most).
pub const MAX_TEXT: usize = 8000;

/// Reads a `deck=` value: its items, decoded, a link without its `?`, in order. Whether each is
/// a preset or a link is decided once the whole link is read (`link::deck`), so one typo does not
/// lose the talk.
pub fn parse_list(text: &str) -> Result<Vec<String>, String> {
    let items: Vec<String> = text
        .split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(|i| {
            let i = decode(i);
            i.strip_prefix('?').map_or(i.clone(), str::to_string)
        })
        .collect();
    if items.len() > MAX_SLIDES {
        return Err(format!(
            "at most {MAX_SLIDES} slides fit a deck, got {}",
            items.len()
        ));
    }
    Ok(items)
}

/// Writes a deck's items as the `deck=` value: a preset id as it is (it has nothing to encode),
/// a link encoded.
pub fn list_text(items: &[String]) -> String {
    items.iter().map(|i| encode(i)).collect::<Vec<_>>().join(",")
}

/// Percent-decodes one list-encoded item (`%3D` → `=`). An item with a raw `=` or `&` is a link
/// pasted as it is (its own `%5E` stays for the link's reader), and one without escapes is a
/// preset id: both are returned as written.
fn decode(item: &str) -> String {
    if !item.contains('%') || item.contains('=') || item.contains('&') {
        return item.to_string();
    }
    // serde_urlencoded decodes a whole pair: give it the item as the value of one.
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("x={}", item.replace('+', "%2B")))
        .ok()
        .and_then(|mut p| p.pop())
        .map_or_else(|| item.to_string(), |(_, v)| v)
}

/// Percent-encodes a link item's `%`, `&`, `=`, `,` and `+` so the list can hold it.
fn encode(item: &str) -> String {
    let mut out = String::with_capacity(item.len() + 16);
    for c in item.chars() {
        match c {
            '%' => out.push_str("%25"),
            '&' => out.push_str("%26"),
            '=' => out.push_str("%3D"),
            ',' => out.push_str("%2C"),
            '+' => out.push_str("%2B"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_round_trip_through_the_list() {
        let items = vec!["e1".to_string(), "task=xor&sweep=r:1,2,4&lr=2^-7".to_string()];
        let text = list_text(&items);
        assert_eq!(text, "e1,task%3Dxor%26sweep%3Dr:1%2C2%2C4%26lr%3D2^-7");
        assert_eq!(parse_list(&text).unwrap(), items);
        // Typed by hand, unencoded (no commas inside the link), or pasted with its own escapes;
        // a link with its `?`: written back one way.
        assert_eq!(
            parse_list("E4 , ?task=xor&r=4,?v=1&lr=2%5E-7").unwrap(),
            vec![
                "E4".to_string(),
                "task=xor&r=4".to_string(),
                "v=1&lr=2%5E-7".to_string()
            ]
        );
        assert!(parse_list(&vec!["e1"; MAX_SLIDES + 1].join(",")).is_err());
    }
}
