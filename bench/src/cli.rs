//! Command-line flag parsing shared by the driver and its child processes.

/// The value after `flag` in `it`, or an error naming the flag.
pub fn flag_value<'a>(
    it: &mut impl Iterator<Item = &'a String>,
    flag: &str,
) -> Result<String, String> {
    it.next()
        .cloned()
        .ok_or_else(|| format!("{flag} needs a value"))
}
