package dev.sapienseg.logging;

import java.util.List;

/**
 * Makes caller-supplied text (object keys, bucket names, event attributes) safe to put in a log line or a header:
 * control characters ({@code \r}, {@code \n}, tabs, escape sequences, C1 controls, Unicode line and paragraph
 * separators, bidirectional overrides) are escaped as {@code \n}, {@code \r}, {@code \t} or {@code \}{@code uXXXX}, and a
 * backslash as {@code \\}, so that one call can never forge or split a log line and the escaped text still names the
 * original unambiguously. Long text is cut to a bound, with the number of characters left off.
 */
public final class LogSafe {

    /** Default bound on a caller-supplied value in a log line. */
    public static final int MAX_CHARS = 256;

    private LogSafe() {
    }

    /** {@code text} escaped and bounded to {@link #MAX_CHARS}; {@code null} as {@code null}. */
    public static String of(String text) {
        return of(text, MAX_CHARS);
    }

    /** {@code text} escaped and cut to at most {@code max} characters of the original. */
    public static String of(String text, int max) {
        if (text == null) {
            return "null";
        }
        int shown = Math.min(text.length(), max);
        StringBuilder out = new StringBuilder(shown + 16);
        for (int i = 0; i < shown; i++) {
            char c = text.charAt(i);
            switch (c) {
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\\' -> out.append("\\\\");
                default -> {
                    if (unsafe(c)) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        if (text.length() > shown) {
            out.append("…(").append(text.length() - shown).append(" more)");
        }
        return out.toString();
    }

    /**
     * At most {@code max} items, escaped and joined with {@code "; "}, then how many were left off: a list that grows
     * with a request (records of a notification, say) stays bounded in a log line or a header.
     */
    public static String list(List<String> items, int max) {
        StringBuilder out = new StringBuilder();
        int n = Math.min(items.size(), max);
        for (int i = 0; i < n; i++) {
            if (i > 0) {
                out.append("; ");
            }
            out.append(of(items.get(i), 120));
        }
        if (items.size() > n) {
            out.append("; …and ").append(items.size() - n).append(" more");
        }
        return out.toString();
    }

    /** Control characters, line/paragraph separators and bidi controls: anything that could alter how a line reads. */
    static boolean unsafe(char c) {
        return Character.isISOControl(c) || c == '\u2028' || c == '\u2029' || c == '\u0085'
                || (c >= '\u202A' && c <= '\u202E') || (c >= '\u2066' && c <= '\u2069') || c == '\u200E' || c == '\u200F';
    }
}
