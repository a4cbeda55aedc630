package dev.sapienseg.event;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.pipeline.OutputRequest;
import dev.sapienseg.failure.SegmentationException;

/**
 * Parses the pictures a caller asks for, from the CloudEvent extension attribute {@value #EXTENSION}
 * (binary mode: header {@code ce-sapiensoutputs}): a comma-separated list of {@code mask}, {@code overlay},
 * or {@code none} for statistics only.
 */
public final class OutputSelection {

    public static final String EXTENSION = "sapiensoutputs";

    private OutputSelection() {
    }

    public static OutputRequest parse(String requested, List<String> defaults) {
        List<String> items = requested == null || requested.isBlank() ? defaults
                : Arrays.asList(requested.split(","));
        boolean mask = false;
        boolean overlay = false;
        for (String raw : items) {
            String item = raw.trim().toLowerCase(Locale.ROOT);
            switch (item) {
                case "mask" -> mask = true;
                case "overlay" -> overlay = true;
                case "none", "" -> {
                }
                default -> throw new SegmentationException(FailureReason.BAD_OPTION, "unknown output '" + raw.trim()
                        + "' in " + EXTENSION + "; use a comma-separated list of mask, overlay, none");
            }
        }
        return new OutputRequest(mask, overlay);
    }
}
