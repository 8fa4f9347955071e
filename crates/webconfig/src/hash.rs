//! bcrypt hash checks with the error texts of Go's `bcrypt.Cost`, which is what
//! exporter-toolkit runs on every user's hash at start-up and in `check web-config`.

/// Why a stored hash is unusable.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum HashError {
    /// An error Go's `bcrypt.Cost` reports too, with its exact text.
    Go(String),
    /// Go accepts it, but it can never verify a password (bad salt or hash encoding).
    Undecodable(String),
}

/// The cost of a bcrypt hash, checked as `bcrypt.Cost` does, then fully decoded.
pub(crate) fn check_hash(hash: &str) -> Result<u32, HashError> {
    let cost = go_cost(hash.as_bytes()).map_err(HashError::Go)?;
    hash.parse::<bcrypt::HashParts>()
        .map_err(|e| HashError::Undecodable(e.to_string()))?;
    Ok(cost)
}

/// Go's `bcrypt.Cost(hashedSecret)`, error texts included.
fn go_cost(p: &[u8]) -> Result<u32, String> {
    const MIN_HASH_SIZE: usize = 59;
    if p.len() < MIN_HASH_SIZE {
        return Err("crypto/bcrypt: hashedSecret too short to be a bcrypted password".into());
    }
    if p[0] != b'$' {
        return Err(format!(
            "crypto/bcrypt: bcrypt hashes must start with '$', but hashedSecret started with '{}'",
            go_char(p[0])
        ));
    }
    if p[1] > b'2' {
        return Err(format!(
            "crypto/bcrypt: bcrypt algorithm version '{}' requested is newer than current version '2'",
            go_char(p[1])
        ));
    }
    let mut n = 3;
    if p[2] != b'$' {
        n += 1;
    }
    let digits = &p[n..n + 2];
    let text = String::from_utf8_lossy(digits);
    let cost: i64 = parse_go_atoi(&text)?;
    if !(4..=31).contains(&cost) {
        return Err(format!(
            "crypto/bcrypt: cost {cost} is outside allowed inclusive range 4..31"
        ));
    }
    Ok(cost as u32)
}

/// Go's `%c` of a byte: the byte as a Unicode code point.
fn go_char(b: u8) -> char {
    char::from(b)
}

/// `strconv.Atoi` on two characters, with its error text.
fn parse_go_atoi(text: &str) -> Result<i64, String> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.Atoi: parsing {text:?}: invalid syntax"));
    }
    text.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {text:?}: invalid syntax"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "$2y$12$1DpfPeqF9HzHJt.EWswy1exHluGfbhnn3yXhR7Xes6m3WJqFg0Wby";

    #[test]
    fn go_errors() {
        assert_eq!(check_hash(ALICE), Ok(12));
        let too_short = check_hash("doe").unwrap_err();
        assert_eq!(
            too_short,
            HashError::Go("crypto/bcrypt: hashedSecret too short to be a bcrypted password".into())
        );
        let sha512 = format!("$6${}", &ALICE[3..]);
        assert_eq!(
            check_hash(&sha512).unwrap_err(),
            HashError::Go(
                "crypto/bcrypt: bcrypt algorithm version '6' requested is newer than current version '2'"
                    .into()
            )
        );
        let no_dollar = format!("x{}", &ALICE[1..]);
        assert_eq!(
            check_hash(&no_dollar).unwrap_err(),
            HashError::Go(
                "crypto/bcrypt: bcrypt hashes must start with '$', but hashedSecret started with 'x'".into()
            )
        );
        let cost_32 = ALICE.replace("$12$", "$32$");
        assert_eq!(
            check_hash(&cost_32).unwrap_err(),
            HashError::Go("crypto/bcrypt: cost 32 is outside allowed inclusive range 4..31".into())
        );
        let letters = ALICE.replace("$12$", "$ab$");
        assert_eq!(
            check_hash(&letters).unwrap_err(),
            HashError::Go("strconv.Atoi: parsing \"ab\": invalid syntax".into())
        );
    }

    #[test]
    fn undecodable_hash_is_caught() {
        let broken = format!("{}!!", &ALICE[..ALICE.len() - 2]);
        assert!(matches!(
            check_hash(&broken),
            Err(HashError::Undecodable(_))
        ));
    }
}
