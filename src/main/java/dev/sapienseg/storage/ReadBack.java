package dev.sapienseg.storage;

/** What reading a summary found: nothing, a summary that does not vouch for current outputs, or a current result. */
sealed interface ReadBack {

    /** No summary under the key (deleted by another delivery's rewrite, never written, or not ours to read). */
    record Absent() implements ReadBack {
    }

    /**
     * A summary that does not vouch for this result: made from something else, unreadable, or listing objects that
     * were deleted or replaced since.
     */
    /** @param identity the identity digest the summary records (another object version's or model's, or ours) */
    record Stale(String identity) implements ReadBack {
    }

    /** A summary for this very identity whose every listed object still has the ETag it records. */
    /** @param attempt the id of the attempt that wrote the summary */
    record Current(StoredResult result, String attempt) implements ReadBack {
    }
}
