package dev.sapienseg.provisioning;

import java.util.Map;
import java.util.TreeMap;

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

    /** Facts for readiness data while a download runs; empty otherwise. */
    public Map<String, Object> describe() {
        Map<String, Object> data = new TreeMap<>();
        if (!active) {
            return data;
        }
        data.put("download.source", source);
        data.put("download.file", file);
        data.put("download.bytes", bytes);
        if (total > 0) {
            data.put("download.total", total);
            data.put("download.percent", Math.min(100, bytes * 100 / total));
        }
        if (attempt > 1) {
            data.put("download.attempt", attempt);
        }
        return data;
    }
}
