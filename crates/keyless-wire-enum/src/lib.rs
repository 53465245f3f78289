//! `wire_enum!`: protocol numbers (enctypes, NTSTATUS, SMB2 commands, ...) as newtypes over the
//! integer with named constants. Unknown values survive decoding; `Display` prints the name, or
//! the number when there is none (the rustls `enum_builder!` pattern). A type whose full list
//! of names is a table (NTSTATUS from MS-ERREF) names a lookup after its constants with
//! `names = path;`, and prints unnamed values in hex.

/// Declares a newtype over an integer with named constants and a `Display` that prints the name
/// (or the number when it has none).
#[macro_export]
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident($repr:ty) {
            $( $(#[$cmeta:meta])* $const:ident = $value:expr => $text:literal, )*
        }
    ) => {
        $crate::wire_enum! {
            @define $(#[$meta])* $vis struct $name($repr) {
                $( $(#[$cmeta])* $const = $value => $text, )*
            }
            unnamed = |_v: $repr| -> Option<&'static str> { None };
            number = "{}";
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident($repr:ty) {
            $( $(#[$cmeta:meta])* $const:ident = $value:expr => $text:literal, )*
        }
        names = $lookup:path;
    ) => {
        $crate::wire_enum! {
            @define $(#[$meta])* $vis struct $name($repr) {
                $( $(#[$cmeta])* $const = $value => $text, )*
            }
            unnamed = $lookup;
            number = "{:#010X}";
        }
    };
    (
        @define $(#[$meta:meta])* $vis:vis struct $name:ident($repr:ty) {
            $( $(#[$cmeta:meta])* $const:ident = $value:expr => $text:literal, )*
        }
        unnamed = $lookup:expr;
        number = $number:literal;
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis struct $name(pub $repr);

        impl $name {
            $( $(#[$cmeta])* pub const $const: Self = Self($value); )*

            /// The registered name, if this value has one.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some($text), )*
                    other => ($lookup)(other),
                }
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, $number, self.0),
                }
            }
        }

        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{}({})", n, self.0),
                    None => write!(f, "{}({})", stringify!($name), self.0),
                }
            }
        }
    };
}
