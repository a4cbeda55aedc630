package dev.sapienseg.provisioning;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.jboss.logging.Logger;

import dev.sapienseg.model.ModelLoadException;
import dev.sapienseg.provisioning.ModelFetcher.FetchException;
import dev.sapienseg.provisioning.ModelFetcher.RemoteFile;
import dev.sapienseg.util.DaemonThreads;
import dev.sapienseg.util.Digests;

/**
 * The mechanics of getting one remote file onto disk, whatever it is and wherever it goes: streams it into a
 * {@code .part} file beside the target while hashing it, resumes that file on the next attempt, aborts a transfer that
 * stalls, retries failures that may pass, and renames the file into place only once it is whole and verified. Which
 * file to fetch, where, and what to record about it is {@link ModelProvisioner}'s.
 */
final class FileDownloader {

    private static final Logger LOG = Logger.getLogger(ModelProvisioner.class); // the provisioner's log, as before

    private final ModelProvisioner.Settings settings;
    private final DownloadProgress progress;

    FileDownloader(ModelProvisioner.Settings settings, DownloadProgress progress) {
        this.settings = settings;
        this.progress = progress;
    }

    /**
     * Downloads {@code source} to {@code target}, trying up to {@code settings.attempts()} times with a doubling pause
     * while the failure is retryable; returns its SHA-256. A wrong {@code expected} SHA-256 is final.
     */
    String download(ModelFetcher fetcher, ModelSource source, Path target, Optional<String> expected)
            throws ModelLoadException, IOException {
        for (int attempt = 1;; attempt++) {
            try {
                return attempt(fetcher, source, target, expected, attempt);
            } catch (FetchException e) {
                if (!e.retryable() || attempt >= settings.attempts()) {
                    throw new ModelLoadException("model download failed" + (attempt > 1 ? " after " + attempt
                            + " attempts" : "") + ": " + e.getMessage(), e);
                }
                long pause = settings.backoff().toMillis() << Math.min(attempt - 1, 6);
                LOG.warnf("model download attempt %d of %d failed (%s); retrying in %d ms", attempt,
                        settings.attempts(), e.getMessage(), pause);
                sleep(pause);
            }
        }
    }

    /**
     * Streams one file into {@code target}, hashing as it goes; returns its SHA-256. A {@code .part} left by an earlier
     * attempt (or a container killed mid-download, when the cache is a volume) is resumed where the server allows it.
     */
    private String attempt(ModelFetcher fetcher, ModelSource source, Path target, Optional<String> expected,
            int attempt) throws IOException {
        Path part = target.resolveSibling(target.getFileName() + ".part");
        long have = Files.isRegularFile(part) ? Files.size(part) : 0;
        boolean keepPart = false;
        try (RemoteFile remote = fetcher.open(source, have)) {
            long length = remote.length();
            MessageDigest digest = Digests.sha256();
            if (remote.offset() > 0) {
                FileSha256.update(digest, part, remote.offset());
            }
            long written = remote.offset();
            requireSpace(target.getParent(), length < 0 ? -1 : length - written);
            progress.start(source.describe(), source.fileName(), length, attempt);
            progress.advance(written);
            LOG.infof("downloading model file %s (%s) into %s%s", source.describe(),
                    length >= 0 ? megabytes(length) : "size unknown", target.getParent(),
                    written > 0 ? ", resuming after " + megabytes(written) : "");
            long started = System.nanoTime();
            long fromStart = written;
            long nextLog = started + settings.progressInterval().toNanos();
            try (StallWatchdog watchdog = new StallWatchdog(settings.stallTimeout(), remote.abort());
                    InputStream in = remote.body(); OutputStream out = openPart(part, remote.offset() > 0)) {
                byte[] buffer = new byte[1 << 20];
                while (true) {
                    int n;
                    try {
                        n = in.read(buffer);
                    } catch (IOException e) {
                        keepPart = true; // what arrived is good: the next attempt resumes after it
                        throw new FetchException(watchdog.stalled()
                                ? "no data for " + settings.stallTimeout().toSeconds() + " s from " + source.describe()
                                        + " after " + megabytes(written)
                                : "download of " + source.describe() + " broke off after " + megabytes(written) + ": "
                                        + e, true, e);
                    }
                    if (n < 0) {
                        break;
                    }
                    write(out, buffer, n, part);
                    digest.update(buffer, 0, n);
                    written += n;
                    watchdog.dataArrived();
                    progress.advance(written);
                    if (System.nanoTime() >= nextLog) {
                        logProgress(source, written, fromStart, length, started);
                        nextLog = System.nanoTime() + settings.progressInterval().toNanos();
                    }
                }
            }
            if (length >= 0 && written != length) {
                keepPart = written < length;
                throw new FetchException("download of " + source.describe() + " ended after " + written + " of "
                        + length + " bytes", true);
            }
            String sha = HexFormat.of().formatHex(digest.digest());
            if (remote.publishedSha256().isPresent() && !remote.publishedSha256().get().equals(sha)) {
                throw new FetchException("SHA-256 of " + source.describe() + " is " + sha + " but its publisher says "
                        + remote.publishedSha256().get() + " (corrupted download)", true);
            }
            if (expected.isPresent() && !expected.get().equals(sha)) {
                throw new FetchException("SHA-256 mismatch for " + source.describe() + ": expected " + expected.get()
                        + " (sapiens.model.sha256 or the preset's recorded SHA-256), got " + sha, false);
            }
            Files.move(part, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            double seconds = (System.nanoTime() - started) / 1e9;
            LOG.infof("downloaded %s: %s in %.1f s (%.1f MB/s), sha256 %s", source.describe(), megabytes(written),
                    seconds, (written - fromStart) / 1e6 / Math.max(seconds, 1e-3), sha);
            return sha;
        } finally {
            progress.finish();
            if (!keepPart) {
                Files.deleteIfExists(part);
            }
        }
    }

    /**
     * Cuts the transfer off when nothing arrived for the stall timeout: a read that would hang for the OS's TCP
     * timeout fails at once instead, and the attempt is retried from where it stopped.
     */
    private static final class StallWatchdog implements AutoCloseable {
        private final ScheduledExecutorService timer =
                Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("sapiens-download-watchdog"));
        private final AtomicLong lastData = new AtomicLong(System.nanoTime());
        private final AtomicBoolean stalled = new AtomicBoolean();

        StallWatchdog(Duration timeout, Runnable abort) {
            long timeoutNanos = timeout.toNanos();
            timer.scheduleAtFixedRate(() -> {
                if (System.nanoTime() - lastData.get() > timeoutNanos && stalled.compareAndSet(false, true)) {
                    abort.run(); // the pending read fails
                }
            }, 200, 200, TimeUnit.MILLISECONDS);
        }

        void dataArrived() {
            lastData.set(System.nanoTime());
        }

        /** Whether it aborted the transfer (then a failed read is a stall, not a broken connection). */
        boolean stalled() {
            return stalled.get();
        }

        @Override
        public void close() {
            timer.shutdownNow();
        }
    }

    private static OutputStream openPart(Path part, boolean append) throws FetchException {
        try {
            return append ? Files.newOutputStream(part, StandardOpenOption.APPEND)
                    : Files.newOutputStream(part);
        } catch (IOException e) {
            throw new FetchException("cannot write " + part + " in the model cache folder: " + e, false, e);
        }
    }

    /** A local write failure (disk full, read-only, permissions) is no network problem: retrying will not help. */
    private static void write(OutputStream out, byte[] buffer, int n, Path part) throws FetchException {
        try {
            out.write(buffer, 0, n);
        } catch (IOException e) {
            throw new FetchException("cannot write " + part + " in the model cache folder: " + e, false, e);
        }
    }

    private void logProgress(ModelSource source, long written, long fromStart, long length, long started) {
        double seconds = (System.nanoTime() - started) / 1e9;
        double rate = (written - fromStart) / Math.max(seconds, 1e-3);
        if (length > 0) {
            LOG.infof("downloading %s: %s of %s (%d%%), %.1f MB/s, about %d s left", source.describe(),
                    megabytes(written), megabytes(length), written * 100 / length, rate / 1e6,
                    (long) ((length - written) / Math.max(rate, 1)));
        } else {
            LOG.infof("downloading %s: %s, %.1f MB/s", source.describe(), megabytes(written), rate / 1e6);
        }
    }

    /** Refuses at once, not after filling the volume, a file that cannot fit; {@code length} -1: unknown. */
    private static void requireSpace(Path dir, long length) throws IOException {
        if (length < 0) {
            return;
        }
        long usable = Files.getFileStore(dir).getUsableSpace();
        if (usable < length) {
            throw new FetchException("not enough space in " + dir + " for the model: " + megabytes(length)
                    + " needed, " + megabytes(usable) + " free (size the cache volume for the model)", false);
        }
    }

    /** A size as the logs and messages show it. */
    static String megabytes(long bytes) {
        return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }

    private static void sleep(long millis) throws ModelLoadException {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ModelLoadException("interrupted while waiting to retry the download", e);
        }
    }
}
