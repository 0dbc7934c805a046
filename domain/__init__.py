"""Pure domain values and rules: msgspec Structs, enums and functions without I/O."""
