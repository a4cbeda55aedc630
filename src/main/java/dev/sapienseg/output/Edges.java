package dev.sapienseg.output;

import java.util.Locale;

/**
 * How a cutout's edges follow the selection ({@code sapiens.selection.edges}, the {@code sapiensedges} event
 * extension, the protocol's {@code edges} parameter, the batch command's {@code --edges}): {@link #HARD}, alpha 255
 * where the class map's class is selected and 0 elsewhere; {@link #SOFT}, the {@code alpha} output: the selected
 * classes' share of the softmax of the upsampled logits, so hair and edges fade as the model is unsure.
 */
public enum Edges {
    HARD,
    SOFT;

    /** {@code hard} or {@code soft}, any case. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** @throws IllegalArgumentException naming what is accepted */
    public static Edges of(String text) {
        String wanted = text.trim().toLowerCase(Locale.ROOT);
        for (Edges edges : values()) {
            if (edges.id().equals(wanted)) {
                return edges;
            }
        }
        throw new IllegalArgumentException("edges must be hard or soft, not '" + text.trim() + "'");
    }
}
