//! Syntax checks for Kubernetes names, environment variable names and resource quantities.

/// Checks a DNS-1123 label (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters).
pub fn dns1123_label(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.len() > 63 {
        return Err(format!("{name:?} is longer than 63 characters"));
    }
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let ok_ends = name.bytes().next().is_some_and(|b| b != b'-')
        && name.bytes().last().is_some_and(|b| b != b'-');
    if !ok_chars || !ok_ends {
        return Err(format!(
            "{name:?} is not a valid DNS-1123 label: use lower-case letters, digits and '-', starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

/// Checks a DNS-1123 subdomain (dot-separated labels, at most 253 characters).
pub fn dns1123_subdomain(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.len() > 253 {
        return Err(format!("{name:?} is longer than 253 characters"));
    }
    if name.split('.').any(|label| dns1123_label(label).is_err()) {
        return Err(format!(
            "{name:?} is not a valid DNS-1123 subdomain: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

/// Checks a C identifier, the portable form of an environment variable name.
pub fn c_identifier(name: &str) -> Result<(), String> {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    if !first_ok || !bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(format!(
            "{name:?} is not a valid environment variable name: use letters, digits and '_', not starting with a digit"
        ));
    }
    Ok(())
}

/// Checks a key of a Secret or ConfigMap (`[-._a-zA-Z0-9]+`).
pub fn config_key(key: &str) -> Result<(), String> {
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
    {
        return Err(format!(
            "{key:?} is not a valid key: use letters, digits, '-', '_' and '.'"
        ));
    }
    Ok(())
}

/// Parses a Kubernetes resource quantity (`500m`, `1.5`, `128Mi`, `1e3`, `2G`) into its value
/// in base units.
pub fn quantity(text: &str) -> Result<f64, String> {
    let invalid = || format!("{text:?} is not a valid quantity (examples: 500m, 2, 128Mi, 1Gi)");
    let text_trimmed = text.trim();
    if text_trimmed != text || text.is_empty() {
        return Err(invalid());
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    if number.is_empty()
        || number == "+"
        || number == "-"
        || number.starts_with('.') && number.len() == 1
    {
        return Err(invalid());
    }
    let base: f64 = number.parse().map_err(|_| invalid())?;
    let scale = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exp if exp.starts_with(['e', 'E']) => {
            let power: i32 = exp[1..].parse().map_err(|_| invalid())?;
            10f64.powi(power)
        }
        _ => return Err(invalid()),
    };
    if base < 0.0 {
        return Err(format!("{text:?} must not be negative"));
    }
    Ok(base * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_subdomains() {
        assert!(dns1123_label("batch-1").is_ok());
        assert!(dns1123_label("Batch").is_err());
        assert!(dns1123_label("-a").is_err());
        assert!(dns1123_label(&"a".repeat(64)).is_err());
        assert!(dns1123_subdomain("app.conf").is_ok());
        assert!(dns1123_subdomain("app..conf").is_err());
    }

    #[test]
    fn env_names() {
        assert!(c_identifier("DB_HOST").is_ok());
        assert!(c_identifier("_x1").is_ok());
        assert!(c_identifier("1X").is_err());
        assert!(c_identifier("A-B").is_err());
        assert!(c_identifier("").is_err());
    }

    #[test]
    fn quantities() {
        assert_eq!(quantity("500m").unwrap(), 0.5);
        assert_eq!(quantity("2").unwrap(), 2.0);
        assert_eq!(quantity("1Gi").unwrap(), 1073741824.0);
        assert_eq!(quantity("1e3").unwrap(), 1000.0);
        assert!(quantity("1 Gi").is_err());
        assert!(quantity("lots").is_err());
        assert!(quantity("").is_err());
    }
}
