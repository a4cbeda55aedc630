package dev.sapienseg.event;

import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import dev.sapienseg.classes.Selection;
import dev.sapienseg.config.SapiensConfig;
import dev.sapienseg.logging.LogSafe;
import dev.sapienseg.pipeline.SegmentationPipeline;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.output.OutputSet;
import io.quarkus.runtime.StartupEvent;

/**
 * The pictures a caller wants in the reply, from the CloudEvent extension attribute {@value #EXTENSION} (binary mode:
 * header {@code ce-sapiensoutputs}): a comma-separated list of output names ({@link OutputKind}) — {@code class-png},
 * {@code overlay}, {@code selection-mask} and {@code cutout} —, or {@code none} for the report only. {@code summary}
 * adds nothing (the reply is the summary); the {@code .npy} outputs are too large for a JSON reply and are refused with
 * a pointer to the storage path and the batch command. The selection of the last two is named by {@value #SELECT}
 * (groups, class names or ids joined with {@code +}; header {@code ce-sapiensselect}) and {@value #INVERT}
 * ({@code true} takes every other class), each defaulting to {@code sapiens.selection.*}.
 */
public final class OutputSelection {

    public static final String EXTENSION = "sapiensoutputs";
    public static final String SELECT = "sapiensselect";
    public static final String INVERT = "sapiensinvert";

    /** What a reply can carry. */
    static final Set<OutputKind> IN_REPLIES = EnumSet.of(OutputKind.CLASS_PNG, OutputKind.OVERLAY,
            OutputKind.SELECTION_MASK, OutputKind.CUTOUT, OutputKind.SUMMARY);

    private OutputSelection() {
    }

    /** @throws SegmentationException bad-option (400) naming the entry */
    public static Set<OutputKind> parse(String requested, OutputSet defaults) {
        Set<OutputKind> kinds = EnumSet.noneOf(OutputKind.class);
        if (requested == null || requested.isBlank()) {
            kinds.addAll(defaults.kinds());
        } else {
            try {
                kinds.addAll(OutputSet.parse(requested).kinds());
            } catch (IllegalArgumentException e) {
                throw new SegmentationException(FailureReason.BAD_OPTION, e.getMessage() + " (in " + EXTENSION + ")");
            }
        }
        String refused = refused(kinds);
        if (refused != null) {
            throw new SegmentationException(FailureReason.BAD_OPTION, refused);
        }
        kinds.remove(OutputKind.SUMMARY);
        return kinds;
    }

    /**
     * The selection an event asks for, or null for the pipeline's default. A selection names what the selective
     * outputs show, so naming one without asking for them (or naming only {@value #INVERT}) adds them: the mask, or
     * what {@value #EXTENSION} already chose of the two.
     *
     * @throws SegmentationException bad-option (400) for a selection the served model's classes cannot meet or an
     *         invert that is not true/false
     */
    public static Selection selection(Map<String, String> extensions, Set<OutputKind> outputs,
            SegmentationPipeline pipeline) {
        String select = extensions.get(SELECT);
        String invert = extensions.get(INVERT);
        if (select == null && invert == null) {
            return null;
        }
        boolean inverted;
        if (invert == null || invert.isBlank() || invert.trim().equalsIgnoreCase("false")) {
            inverted = false;
        } else if (invert.trim().equalsIgnoreCase("true")) {
            inverted = true;
        } else {
            throw new SegmentationException(FailureReason.BAD_OPTION, INVERT + " must be true or false, not '"
                    + LogSafe.of(invert, 40) + "'");
        }
        if (outputs.stream().noneMatch(OutputKind::selective)) {
            outputs.add(OutputKind.SELECTION_MASK);
        }
        Selection fallback = pipeline.defaultSelection();
        try {
            return pipeline.selection(select != null ? select : fallback.expression(), inverted);
        } catch (SegmentationException e) {
            throw new SegmentationException(FailureReason.BAD_OPTION, e.getMessage() + " (in " + SELECT + ")");
        }
    }

    /** Why a reply cannot carry one of {@code kinds}, or null. */
    static String refused(Iterable<OutputKind> kinds) {
        for (OutputKind kind : kinds) {
            if (!IN_REPLIES.contains(kind)) {
                return "output '" + kind.id() + "' is not sent in replies (" + EXTENSION + " takes class-png, overlay,"
                        + " selection-mask, cutout, none); the .npy files are written by the storage path"
                        + " (sapiens.storage.outputs) and the batch command (--outputs)";
            }
        }
        return null;
    }

    /** The reply defaults are checked when the application starts: a bad one stops it, naming the setting. */
    @ApplicationScoped
    static class DefaultsCheck {
        void check(@Observes StartupEvent event, SapiensConfig config) {
            String refused = refused(config.events().defaultOutputs().kinds());
            if (refused != null) {
                throw new IllegalStateException("sapiens.events.default-outputs: " + refused);
            }
        }
    }
}
