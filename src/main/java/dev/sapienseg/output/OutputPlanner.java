package dev.sapienseg.output;

import java.util.EnumSet;
import java.util.Set;

import dev.sapienseg.classes.Selection;
import dev.sapienseg.classes.Vocabulary;
import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.shapes.ShapeOptions;

/**
 * The one place where a caller's choice of outputs and selection becomes an {@link OutputPlan}, for every adapter
 * (CloudEvent replies, the Open Inference Protocol, storage, the batch command). Its rules:
 * <ul>
 * <li>{@link OutputKind#SUMMARY} is dropped: the report is always made;</li>
 * <li>a selection is resolved against the served model's {@link Vocabulary} only when a selective kind is planned;
 * one that names nothing ({@code select} and {@code invert} both null) is the configured default
 * ({@code sapiens.selection.*}); one that names only {@code invert} inverts the default's classes;</li>
 * <li>a selection named without a selective kind adds {@link OutputKind#SELECTION_MASK}: a selection only says what
 * the selective outputs show;</li>
 * <li>{@link OutputKind#COCO} adds {@link OutputKind#RLE}: the dataset is made from every picture's RLE file;</li>
 * <li>a selection the vocabulary cannot meet is {@link FailureReason#BAD_OPTION}, naming the entry and what this
 * model accepts (each adapter says where in its own request it was).</li>
 * </ul>
 * What a channel can carry (no {@code .npy} in a JSON reply, say) is the adapter's rule, checked before planning.
 */
public final class OutputPlanner {

    private final Vocabulary vocabulary;
    private final Selection defaultSelection;
    private final ShapeOptions shapes;
    private final Edges defaultEdges;

    /** With {@link ShapeOptions#DEFAULTS} and hard edges. */
    public OutputPlanner(Vocabulary vocabulary, String defaultExpression, boolean defaultInvert) {
        this(vocabulary, defaultExpression, defaultInvert, Edges.HARD, ShapeOptions.DEFAULTS);
    }

    /**
     * @param defaultExpression {@code sapiens.selection.classes}
     * @param defaultInvert {@code sapiens.selection.invert}
     * @param defaultEdges {@code sapiens.selection.edges}
     * @param shapes {@code sapiens.shapes.*}
     * @throws IllegalArgumentException when the default cannot be met by {@code vocabulary}
     */
    public OutputPlanner(Vocabulary vocabulary, String defaultExpression, boolean defaultInvert, Edges defaultEdges,
            ShapeOptions shapes) {
        this.vocabulary = vocabulary;
        this.defaultSelection = Selection.parse(defaultExpression, defaultInvert, vocabulary);
        this.defaultEdges = defaultEdges;
        this.shapes = shapes;
    }

    /** The served model's classes. */
    public Vocabulary vocabulary() {
        return vocabulary;
    }

    /** The selection used when a caller names none. */
    public Selection defaultSelection() {
        return defaultSelection;
    }

    /** The plan for {@code kinds} with the default selection (storage, and callers that name none). */
    public OutputPlan plan(Set<OutputKind> kinds) {
        return plan(kinds, null, null, null);
    }

    /** With the default edges. */
    public OutputPlan plan(Set<OutputKind> kinds, String select, Boolean invert) {
        return plan(kinds, select, invert, null);
    }

    /**
     * @param select the caller's selection expression, or null
     * @param invert the caller's invert, or null when not given
     * @param edges the caller's edges, or null for {@code sapiens.selection.edges}
     * @throws SegmentationException bad-option for a selection this model's classes cannot meet
     */
    public OutputPlan plan(Set<OutputKind> kinds, String select, Boolean invert, Edges edges) {
        Edges chosen = edges != null ? edges : defaultEdges;
        EnumSet<OutputKind> planned = kinds.isEmpty() ? EnumSet.noneOf(OutputKind.class) : EnumSet.copyOf(kinds);
        if (planned.contains(OutputKind.COCO)) {
            planned.add(OutputKind.RLE);
        }
        boolean named = select != null || invert != null;
        if (named && planned.stream().noneMatch(OutputKind::selective)) {
            planned.add(OutputKind.SELECTION_MASK);
        }
        if (planned.stream().noneMatch(OutputKind::selective)) {
            return new OutputPlan(planned, null, shapes, chosen);
        }
        return new OutputPlan(planned, named ? selection(select, invert) : defaultSelection, shapes, chosen);
    }

    private Selection selection(String select, Boolean invert) {
        String expression = select != null ? select : defaultSelection.expression();
        try {
            return Selection.parse(expression, invert != null && invert, vocabulary);
        } catch (IllegalArgumentException e) {
            throw new SegmentationException(FailureReason.BAD_OPTION, e.getMessage());
        }
    }
}
