package dev.sapienseg.event;

import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import dev.sapienseg.config.SapiensConfig;
import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.logging.LogSafe;
import dev.sapienseg.output.Edges;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.output.OutputPlan;
import dev.sapienseg.output.OutputPlanner;
import dev.sapienseg.output.OutputSet;
import io.quarkus.runtime.StartupEvent;

/**
 * What an image event asks for, read from its CloudEvent extension attributes (binary mode: headers {@code ce-…}):
 * {@value #OUTPUTS}, a comma-separated list of output names ({@link OutputKind}) — {@code class-png},
 * {@code overlay}, {@code selection-mask}, {@code cutout}, {@code alpha}, {@code instances}, {@code rle} and
 * {@code polygons} —, or
 * {@code none} for the report only ({@code summary} adds nothing: the reply is the summary; the {@code .npy} outputs
 * are too large for a JSON reply and {@code coco} is a folder run's dataset: both are refused with a pointer to where
 * they are made); {@value #SELECT} (groups, class names or ids joined with
 * {@code +}) and {@value #INVERT} ({@code true} takes every other class) for the selection mask, the cutout and the
 * alpha; {@value #EDGES} ({@code hard} or {@code soft}) for the cutout's edges. The rules that combine them with the
 * defaults are {@link OutputPlanner}'s.
 */
public final class EventOptions {

    public static final String OUTPUTS = "sapiensoutputs";
    public static final String SELECT = "sapiensselect";
    public static final String INVERT = "sapiensinvert";
    public static final String EDGES = "sapiensedges";

    /** What a reply can carry. */
    static final Set<OutputKind> IN_REPLIES = EnumSet.of(OutputKind.CLASS_PNG, OutputKind.OVERLAY,
            OutputKind.SELECTION_MASK, OutputKind.CUTOUT, OutputKind.ALPHA, OutputKind.RLE, OutputKind.POLYGONS,
            OutputKind.INSTANCES,
            OutputKind.SUMMARY);

    private EventOptions() {
    }

    /**
     * The kinds an event asks for ({@value #OUTPUTS}), checked before anything else is done for it.
     *
     * @param defaults {@code sapiens.events.default-outputs}, used when {@value #OUTPUTS} is absent or blank
     * @throws SegmentationException bad-option (400) naming the attribute and the entry
     */
    public static Set<OutputKind> kinds(Map<String, String> extensions, OutputSet defaults) {
        return parse(extensions.get(OUTPUTS), defaults);
    }

    /**
     * The plan for {@link #kinds} and the event's selection, for the served model.
     *
     * @throws SegmentationException bad-option (400) naming the attribute and the entry
     */
    public static OutputPlan plan(Set<OutputKind> kinds, Map<String, String> extensions, OutputPlanner planner) {
        Boolean invert = invert(extensions.get(INVERT));
        Edges edges = edges(extensions.get(EDGES));
        try {
            return planner.plan(kinds, extensions.get(SELECT), invert, edges);
        } catch (SegmentationException e) {
            throw new SegmentationException(FailureReason.BAD_OPTION, e.getMessage() + " (in " + SELECT + ")");
        }
    }

    /** @throws SegmentationException bad-option (400) naming the entry */
    static Set<OutputKind> parse(String requested, OutputSet defaults) {
        Set<OutputKind> kinds = EnumSet.noneOf(OutputKind.class);
        if (requested == null || requested.isBlank()) {
            kinds.addAll(defaults.kinds());
        } else {
            try {
                kinds.addAll(OutputSet.parse(requested).kinds());
            } catch (IllegalArgumentException e) {
                throw new SegmentationException(FailureReason.BAD_OPTION, e.getMessage() + " (in " + OUTPUTS + ")");
            }
        }
        String refused = refused(kinds);
        if (refused != null) {
            throw new SegmentationException(FailureReason.BAD_OPTION, refused);
        }
        kinds.remove(OutputKind.SUMMARY);
        return kinds;
    }

    /** {@value #INVERT}: null when absent, blank counts as false; anything but true/false is refused. */
    private static Boolean invert(String invert) {
        if (invert == null) {
            return null;
        }
        if (invert.isBlank() || invert.trim().equalsIgnoreCase("false")) {
            return false;
        }
        if (invert.trim().equalsIgnoreCase("true")) {
            return true;
        }
        throw new SegmentationException(FailureReason.BAD_OPTION, INVERT + " must be true or false, not '"
                + LogSafe.of(invert, 40) + "'");
    }

    /** {@value #EDGES}: null when absent or blank; anything but hard/soft is refused. */
    private static Edges edges(String edges) {
        if (edges == null || edges.isBlank()) {
            return null;
        }
        try {
            return Edges.of(edges);
        } catch (IllegalArgumentException e) {
            throw new SegmentationException(FailureReason.BAD_OPTION, EDGES + ": " + e.getMessage().replace(
                    edges.trim(), LogSafe.of(edges.trim(), 40)));
        }
    }

    /** Why a reply cannot carry one of {@code kinds}, or null. */
    static String refused(Iterable<OutputKind> kinds) {
        for (OutputKind kind : kinds) {
            if (kind == OutputKind.COCO) {
                return "output 'coco' is the dataset of a folder run, written by the batch command (--outputs coco);"
                        + " a reply carries each class's COCO RLE with " + OUTPUTS + ": rle";
            }
            if (!IN_REPLIES.contains(kind)) {
                return "output '" + kind.id() + "' is not sent in replies (" + OUTPUTS + " takes class-png, overlay,"
                        + " selection-mask, cutout, alpha, instances, rle, polygons, none); the .npy files are written"
                        + " by the storage path (sapiens.storage.outputs) and the batch command (--outputs)";
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
