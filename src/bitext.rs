//! Reading parallel text: two files or one `src ||| tgt` file (being built).
