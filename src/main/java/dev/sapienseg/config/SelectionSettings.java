package dev.sapienseg.config;

/** {@code sapiens.selection.*}: the selection of the selective outputs when a request names none. */
public interface SelectionSettings {
    /**
     * Groups, class names or ids joined with {@code +} ({@code dev.sapienseg.classes.Selection}); checked against the
     * served model's classes when it loads.
     */
    String classes();

    /** Take every class but those. */
    boolean invert();

    /** The cutout's edges: {@code hard} (the class map's) or {@code soft} (the selection's alpha). */
    dev.sapienseg.output.Edges edges();
}
