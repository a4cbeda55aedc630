package dev.sapienseg.backfill;

import java.util.Optional;

import dev.sapienseg.storage.OutputKeys;

/** Which listed keys are candidates for a notification, decided from the key alone (no request to the store). */
final class KeyFilter {

    /** Why a listed key gets no notification. */
    enum Skip {
        /** No picture extension: the function would not segment it. */
        NOT_PICTURE,
        /** Under the function's output prefix in the bucket it writes to: a result, not a picture to segment. */
        OWN_OUTPUT,
        /** Sent or found complete by an earlier run (the state file). */
        IN_STATE
    }

    private final Backfill.Settings settings;
    private final StateFile state;

    KeyFilter(Backfill.Settings settings, StateFile state) {
        this.settings = settings;
        this.state = state;
    }

    /** Why the key is skipped; empty: it is a candidate (its results are checked, then it is sent). */
    Optional<Skip> reasonToSkip(String key) {
        if (!OutputKeys.hasPictureExtension(key)) {
            return Optional.of(Skip.NOT_PICTURE);
        }
        if (isOwnOutput(key)) {
            return Optional.of(Skip.OWN_OUTPUT);
        }
        if (state.contains(key)) {
            return Optional.of(Skip.IN_STATE);
        }
        return Optional.empty();
    }

    /** Results that land in the listed bucket would otherwise be sent back to the function as pictures. */
    private boolean isOwnOutput(String key) {
        boolean sameBucket = settings.outputBucket() == null || settings.outputBucket().equals(settings.bucket());
        return sameBucket && !settings.outputPrefix().isEmpty() && key.startsWith(settings.outputPrefix());
    }
}
