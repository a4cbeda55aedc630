package dev.sapienseg.event;

/**
 * Caller-supplied text (event ids, sources, subjects, keys) made safe for one log line or header: control characters
 * (CR and LF above all, which would forge log lines) are escaped as {@code \xHH}, and the text is cut to a bounded
 * length so that no line grows with what a caller sends.
 */
public final class LogText {

    /** Longest caller text shown in a log line or header. */
    public static final int MAX_CHARS = 256;

    private LogText() {
    }

    public static String of(Object value) {
        return of(value, MAX_CHARS);
    }

    public static String of(Object value, int maxChars) {
        if (value == null) {
            return "-";
        }
        String text = String.valueOf(value);
        StringBuilder out = new StringBuilder(Math.min(text.length(), maxChars) + 8);
        for (int i = 0; i < text.length(); i++) {
            if (out.length() >= maxChars) {
                out.append("…(").append(text.length()).append(" chars)");
                break;
            }
            char c = text.charAt(i);
            if (c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0) || c == '\u2028' || c == '\u2029') {
                out.append(String.format("\\x%02x", (int) c & 0xFF));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /** Printable ASCII only (HTTP header values), bounded. */
    public static String ascii(Object value, int maxChars) {
        String text = of(value, maxChars);
        return text.replaceAll("[^\\x20-\\x7E]", "?");
    }
}
