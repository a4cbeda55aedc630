package dev.sapienseg.output;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/**
 * Outputs chosen by a comma-separated list of {@link OutputKind} names, as configuration, the event extension and the
 * batch command's option give them: any case, spaces ignored, {@code none} (or nothing) for the empty set.
 *
 * @param kinds iterated in {@link OutputKind} order (files are written in that order, the summary last)
 */
public record OutputSet(Set<OutputKind> kinds) {

    public OutputSet {
        kinds = Collections.unmodifiableSet(kinds.isEmpty() ? EnumSet.noneOf(OutputKind.class) : EnumSet.copyOf(kinds));
    }

    /** @throws IllegalArgumentException naming the first unknown entry and what is accepted */
    public static OutputSet parse(String list) {
        Set<OutputKind> kinds = EnumSet.noneOf(OutputKind.class);
        for (String part : list == null ? new String[0] : list.split(",")) {
            if (!part.isBlank() && !part.trim().equalsIgnoreCase("none")) {
                kinds.add(OutputKind.of(part));
            }
        }
        return new OutputSet(kinds);
    }

    /**
     * Configuration converter: an unknown entry in {@code sapiens.storage.outputs} or
     * {@code sapiens.events.default-outputs} stops the start, naming the setting and the entry.
     */
    public static final class Converter implements org.eclipse.microprofile.config.spi.Converter<OutputSet> {
        @Override
        public OutputSet convert(String value) {
            return parse(value);
        }
    }
}
