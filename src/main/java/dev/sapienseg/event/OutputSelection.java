package dev.sapienseg.event;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import dev.sapienseg.config.SapiensConfig;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.output.OutputSet;
import io.quarkus.runtime.StartupEvent;

/**
 * The pictures a caller wants in the reply, from the CloudEvent extension attribute {@value #EXTENSION} (binary mode:
 * header {@code ce-sapiensoutputs}): a comma-separated list of output names ({@link OutputKind}) — {@code class-png}
 * and {@code overlay} —, or {@code none} for the report only. {@code summary} adds nothing (the reply is the
 * summary); the {@code .npy} outputs are too large for a JSON reply and are refused with a pointer to the storage
 * path and the batch command.
 */
public final class OutputSelection {

    public static final String EXTENSION = "sapiensoutputs";

    /** What a reply can carry. */
    static final Set<OutputKind> IN_REPLIES = EnumSet.of(OutputKind.CLASS_PNG, OutputKind.OVERLAY, OutputKind.SUMMARY);

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

    /** Why a reply cannot carry one of {@code kinds}, or null. */
    static String refused(Iterable<OutputKind> kinds) {
        for (OutputKind kind : kinds) {
            if (!IN_REPLIES.contains(kind)) {
                return "output '" + kind.id() + "' is not sent in replies (" + EXTENSION + " takes class-png, overlay,"
                        + " none); the .npy files are written by the storage path (sapiens.storage.outputs) and the"
                        + " batch command (--outputs)";
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
