/// The only ways user-chosen text (layer and value names) enters generated C, decided byte by
/// byte on the name's UTF-8, never by `Character` (a combining mark after `/` makes one
/// `Character` of bytes that still contain `*/`).
enum CText {
    /// `name` as C identifier characters: ASCII letters, digits and `_` kept, every other byte `_`.
    static func identifier(_ name: String) -> String {
        String(decoding: name.utf8.map { isIdentifierByte($0) ? $0 : UInt8(ascii: "_") }, as: UTF8.self)
    }

    /// `name` as text that is safe inside a `/* */` comment: printable ASCII kept except `*`, `/`
    /// and `\`, which (like every control and non-ASCII byte, NUL included) are written as `\xNN`.
    /// No byte sequence of the result can end the comment or the line.
    static func comment(_ name: String) -> String {
        var text = ""
        for byte in name.utf8 {
            if byte >= 0x20, byte < 0x7f, byte != UInt8(ascii: "*"), byte != UInt8(ascii: "/"),
               byte != UInt8(ascii: "\\") {
                text.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                text += "\\x" + String(byte, radix: 16, uppercase: false).leftPadded(to: 2)
            }
        }
        return text
    }

    /// Whether generated C is made only of printable ASCII, tabs and newlines (what the writer emits).
    static func isPlainSource(_ source: String) -> Bool {
        source.utf8.allSatisfy { ($0 >= 0x20 && $0 < 0x7f) || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\t") }
    }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"): true
        default: false
        }
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
