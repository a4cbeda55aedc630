package dev.sapienseg.output;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

import dev.sapienseg.classes.Selection;
import dev.sapienseg.shapes.ShapeOptions;

/**
 * What one segmentation makes besides its report, resolved once by {@link OutputPlanner} against the served model's
 * classes: the output kinds (never {@link OutputKind#SUMMARY}: the report is always made, and whoever stores outputs
 * writes it last) and, exactly when a selective kind is among them, the selection they show.
 *
 * @param kinds iterated in {@link OutputKind} order
 * @param selection the classes of the selection mask and the cutout; null when neither is planned
 * @param shapes how the shape outputs are made and bounded ({@code sapiens.shapes.*})
 * @param edges the cutout's edges: soft ones are the {@link OutputKind#ALPHA} of the selection
 */
public record OutputPlan(Set<OutputKind> kinds, Selection selection, ShapeOptions shapes, Edges edges) {

    /** The report only. */
    public static final OutputPlan REPORT_ONLY = new OutputPlan(EnumSet.noneOf(OutputKind.class), null);

    /** With {@link ShapeOptions#DEFAULTS}. */
    public OutputPlan(Set<OutputKind> kinds, Selection selection) {
        this(kinds, selection, ShapeOptions.DEFAULTS, Edges.HARD);
    }

    public OutputPlan {
        java.util.Objects.requireNonNull(shapes, "shapes");
        java.util.Objects.requireNonNull(edges, "edges");
        EnumSet<OutputKind> copy = kinds.isEmpty() ? EnumSet.noneOf(OutputKind.class) : EnumSet.copyOf(kinds);
        copy.remove(OutputKind.SUMMARY);
        if (copy.stream().anyMatch(OutputKind::selective) != (selection != null)) {
            throw new IllegalArgumentException("a selection goes with the selective outputs, and only with them");
        }
        kinds = Collections.unmodifiableSet(copy);
    }

    public boolean has(OutputKind kind) {
        return kinds.contains(kind);
    }

    /** True when the plan makes a selection mask, a cutout or an alpha. */
    public boolean selective() {
        return selection != null;
    }

    /** True when the selection's soft alpha is needed: asked for, or the edges of a soft cutout. */
    public boolean needsAlpha() {
        return has(OutputKind.ALPHA) || has(OutputKind.CUTOUT) && edges == Edges.SOFT;
    }
}
