package dev.sapienseg.provisioning;

import java.util.Optional;
import java.util.OptionalLong;

/** What the provisioner is doing, read by health checks while it works (one writer, many readers). */
public final class DownloadProgress {

    private volatile String source;
    private volatile String file;
    private volatile long bytes;
    private volatile long total = -1;
    private volatile int attempt;
    private volatile boolean active;

    void start(String source, String file, long total, int attempt) {
        this.source = source;
        this.file = file;
        this.total = total;
        this.attempt = attempt;
        this.bytes = 0;
        this.active = true;
    }

    void advance(long bytes) {
        this.bytes = bytes;
    }

    void finish() {
        this.active = false;
    }

    public boolean active() {
        return active;
    }

    /**
     * One reading of a download under way.
     *
     * @param total the file's length, or -1 when the server did not say
     * @param attempt 1 for the first try
     */
    public record Snapshot(String source, String file, long bytes, long total, int attempt) {

        /** Percent done, when the length is known. */
        public OptionalLong percent() {
            return total > 0 ? OptionalLong.of(Math.min(100, bytes * 100 / total)) : OptionalLong.empty();
        }
    }

    /** The download under way, for readiness data; empty when none runs. */
    public Optional<Snapshot> snapshot() {
        return active ? Optional.of(new Snapshot(source, file, bytes, total, attempt)) : Optional.empty();
    }
}
