package dev.sapienseg.provisioning;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import org.jboss.logging.Logger;

import dev.sapienseg.model.ModelIdentity;
import dev.sapienseg.model.ModelLoadException;
import software.amazon.awssdk.services.s3.S3Client;
import dev.sapienseg.provisioning.ModelFetcher.FetchException;
import dev.sapienseg.provisioning.ModelFetcher.RemoteFile;

/**
 * Makes a model available as a local file: local paths are used in place; remote ones are downloaded once into a
 * cache folder (one sub-folder per source, external-data files beside the model), verified with SHA-256, and reused
 * by later starts. Downloads go to {@code .part} files and are renamed when complete and verified, so a pod killed
 * mid-download never leaves a file that looks finished; a file lock lets pods that share a cache volume take turns.
 */
public final class ModelProvisioner {

    private static final Logger LOG = Logger.getLogger(ModelProvisioner.class);
    private static final String MARKER = ".sha256";

    /**
     * @param cacheDir where downloads are kept
     * @param attempts tries per file for failures that may pass (network, 5xx, throttling, stalls)
     * @param stallTimeout a download that receives nothing for this long is aborted and retried
     * @param backoff the pause before the second try; doubled for each further one
     * @param progressInterval how often progress is logged
     */
    public record Settings(Path cacheDir, int attempts, Duration stallTimeout, Duration backoff,
            Duration progressInterval) {
    }

    private final Settings settings;
    private final List<ModelFetcher> fetchers;
    private final DownloadProgress progress;

    public ModelProvisioner(Settings settings, List<ModelFetcher> fetchers, DownloadProgress progress) {
        this.settings = settings;
        this.fetchers = fetchers;
        this.progress = progress;
    }

    /** The provisioner for every kind of source: HTTP(S), Hugging Face, S3 (client built on first use). */
    public static ModelProvisioner standard(Settings settings, String hubEndpoint, Optional<String> hubToken,
            Supplier<S3Client> s3, DownloadProgress progress) {
        return new ModelProvisioner(settings, List.of(new HttpModelFetcher(hubEndpoint, hubToken), new S3ModelFetcher(s3)),
                progress);
    }

    /**
     * The local model file, its external-data files beside it, and its identity. Every file is checked against its
     * SHA-256: while it downloads; on every later start from the cache (a file changed after its marker was written
     * is refused, whoever changed it); against {@code expectedSha256} for the model file when one is given.
     */
    public ProvisionedModel provision(ModelSource source, Optional<String> expectedSha256) throws ModelLoadException {
        Optional<String> expected = expectedSha256.map(s -> s.strip().toLowerCase(Locale.ROOT)).filter(s -> !s.isEmpty());
        if (expected.isPresent() && !expected.get().matches("[0-9a-f]{64}")) {
            throw new ModelLoadException("sapiens.model.sha256 is not a SHA-256 (64 hex digits): " + expected.get());
        }
        String revision = source.pinnedRevision().orElse(null);
        if (source instanceof ModelSource.LocalFile local) {
            if (!Files.isRegularFile(local.path())) {
                return new ProvisionedModel(local.path(), ModelIdentity.UNKNOWN); // the loader says what is wrong
            }
            return new ProvisionedModel(local.path(), new ModelIdentity(verifyLocal(local.path(), expected), null));
        }
        Path dir = settings.cacheDir().resolve(cacheKey(source));
        Path model = dir.resolve(source.fileName());
        // A complete cache is used without writing anything: it may be a read-only volume filled in advance.
        Optional<String> cached = complete(model, expected);
        if (cached.isPresent()) {
            LOG.infof("model %s: using the cached copy %s (%s, sha256 %s, every file verified)", source.describe(),
                    model, megabytesQuietly(model), cached.get());
            return new ProvisionedModel(model, new ModelIdentity(cached.get(), revision));
        }
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("source.txt"), source.describe() + "\n", StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ModelLoadException("cannot use the model cache folder " + settings.cacheDir()
                    + " (set sapiens.model.cache-dir / SAPIENS_MODEL_CACHE_DIR to a writable folder): " + e, e);
        }
        // Pods sharing the folder take turns; whoever waited finds the files complete and downloads nothing.
        try (FileChannel lockFile = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE); FileLock lock = lockFile.lock()) {
            boolean downloaded = fetch(source, model, expected);
            for (String location : externalData(model)) {
                Path target = dir.resolve(location).normalize();
                Files.createDirectories(target.getParent());
                if (downloaded) { // weights cached for an earlier version of the graph must not be reused with it
                    Files.deleteIfExists(marker(target));
                }
                fetch(source.sibling(location), target, Optional.empty());
            }
            return new ProvisionedModel(model, new ModelIdentity(recorded(model).orElseThrow(), revision));
        } catch (IOException e) {
            throw new ModelLoadException("cannot use the model cache folder " + dir + ": " + e, e);
        }
    }

    /**
     * The model's SHA-256 if it and every external-data file it names are in the cache with their markers, each file
     * hashed again and equal to its marker (reads only); empty when something is missing or another SHA-256 is
     * expected (then it is downloaded). A file that differs from its marker was changed after it was verified (a
     * shared or pre-filled cache, a disk fault, tampering): refused, not silently replaced.
     */
    private static Optional<String> complete(Path model, Optional<String> expected) throws ModelLoadException {
        try {
            Optional<String> recorded = recorded(model);
            if (recorded.isEmpty() || expected.isPresent() && !expected.get().equals(recorded.get())) {
                return Optional.empty();
            }
            Map<Path, String> markers = new LinkedHashMap<>(Map.of(model, recorded.get())); // file -> recorded SHA-256
            for (String location : ExternalDataFiles.of(model)) {
                Path data = model.resolveSibling(location).normalize();
                Optional<String> dataSha = recorded(data);
                if (dataSha.isEmpty()) {
                    return Optional.empty();
                }
                markers.put(data, dataSha.get());
            }
            for (Map.Entry<Path, String> marker : markers.entrySet()) {
                String have = sha256Of(marker.getKey());
                if (!have.equals(marker.getValue())) {
                    throw new ModelLoadException("the cached model file " + marker.getKey() + " has SHA-256 " + have
                            + " but " + marker.getValue() + " was recorded when it was downloaded and verified: it was"
                            + " changed since. Delete " + model.getParent() + " to download it again, or restore the cache");
                }
            }
            return recorded;
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static String sha256Of(Path file) throws IOException {
        MessageDigest digest = sha256();
        hash(file, Long.MAX_VALUE, digest);
        return HexFormat.of().formatHex(digest.digest());
    }

    /** The verified SHA-256 recorded for a complete cached file. */
    private static Optional<String> recorded(Path file) throws IOException {
        Path marker = marker(file);
        if (!Files.isRegularFile(file) || !Files.isRegularFile(marker)) {
            return Optional.empty();
        }
        return Optional.of(Files.readString(marker, StandardCharsets.UTF_8).strip());
    }

    private static Path marker(Path file) {
        return file.resolveSibling(file.getFileName() + MARKER);
    }

    private static Iterable<String> externalData(Path model) throws ModelLoadException {
        try {
            return ExternalDataFiles.of(model);
        } catch (IOException e) {
            throw new ModelLoadException("the downloaded model " + model.getFileName() + " is not a readable ONNX file: "
                    + e.getMessage(), e);
        }
    }

    /** A folder name per source: the same source always maps to the same place; different ones never share. */
    static String cacheKey(ModelSource source) {
        return HexFormat.of().formatHex(sha256().digest(source.describe().getBytes(StandardCharsets.UTF_8)))
                .substring(0, 16);
    }

    /** Makes {@code target} a verified copy of {@code source}; true when it had to be downloaded. */
    private boolean fetch(ModelSource source, Path target, Optional<String> expected) throws ModelLoadException,
            IOException {
        Optional<String> recorded = recorded(target);
        if (recorded.isPresent()) {
            if (expected.isEmpty() || expected.get().equals(recorded.get())) {
                LOG.infof("model file %s: using the cached copy %s (%s, sha256 %s)", source.describe(), target,
                        megabytes(Files.size(target)), recorded.get());
                return false;
            }
            LOG.infof("model file %s: the cached copy has sha256 %s, %s is expected: downloading again",
                    source.describe(), recorded.get(), expected.get());
            Files.delete(marker(target));
        }
        ModelFetcher fetcher = fetchers.stream().filter(f -> f.handles(source)).findFirst()
                .orElseThrow(() -> new ModelLoadException("no way to download " + source.describe()));
        for (int attempt = 1;; attempt++) {
            try {
                String sha = download(fetcher, source, target, expected, attempt);
                Files.writeString(marker(target), sha + "\n", StandardCharsets.UTF_8);
                return true;
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
    private String download(ModelFetcher fetcher, ModelSource source, Path target, Optional<String> expected,
            int attempt) throws IOException, ModelLoadException {
        Path part = target.resolveSibling(target.getFileName() + ".part");
        long have = Files.isRegularFile(part) ? Files.size(part) : 0;
        boolean keepPart = false;
        ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "sapiens-download-watchdog");
            t.setDaemon(true);
            return t;
        });
        try (RemoteFile remote = fetcher.open(source, have)) {
            long length = remote.length();
            MessageDigest digest = sha256();
            if (remote.offset() > 0) {
                hash(part, remote.offset(), digest);
            }
            long written = remote.offset();
            requireSpace(target.getParent(), length < 0 ? -1 : length - written);
            progress.start(source.describe(), source.fileName(), length, attempt);
            progress.advance(written);
            LOG.infof("downloading model file %s (%s) into %s%s", source.describe(),
                    length >= 0 ? megabytes(length) : "size unknown", target.getParent(),
                    written > 0 ? ", resuming after " + megabytes(written) : "");
            AtomicLong lastData = new AtomicLong(System.nanoTime());
            AtomicBoolean stalled = new AtomicBoolean();
            long stallNanos = settings.stallTimeout().toNanos();
            watchdog.scheduleAtFixedRate(() -> {
                if (System.nanoTime() - lastData.get() > stallNanos && stalled.compareAndSet(false, true)) {
                    remote.abort().run(); // the pending read fails
                }
            }, 200, 200, TimeUnit.MILLISECONDS);
            long started = System.nanoTime();
            long fromStart = written;
            long nextLog = started + settings.progressInterval().toNanos();
            try (InputStream in = remote.body(); OutputStream out = openPart(part, remote.offset() > 0)) {
                byte[] buffer = new byte[1 << 20];
                while (true) {
                    int n;
                    try {
                        n = in.read(buffer);
                    } catch (IOException e) {
                        keepPart = true; // what arrived is good: the next attempt resumes after it
                        throw new FetchException(stalled.get()
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
                    lastData.set(System.nanoTime());
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
            watchdog.shutdownNow();
            progress.finish();
            if (!keepPart) {
                Files.deleteIfExists(part);
            }
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

    /** Feeds the first {@code bytes} bytes of {@code file} (all of it: {@code Long.MAX_VALUE}) to {@code digest}. */
    private static void hash(Path file, long bytes, MessageDigest digest) throws IOException {
        byte[] buffer = new byte[1 << 20];
        long left = bytes;
        try (InputStream in = Files.newInputStream(file)) {
            while (left > 0) {
                int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
                if (n < 0) {
                    if (bytes == Long.MAX_VALUE) {
                        return;
                    }
                    throw new IOException(file + " is shorter than " + bytes + " bytes");
                }
                digest.update(buffer, 0, n);
                left -= n;
            }
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

    /** A local model file's SHA-256, checked against the expected one when given. */
    private static String verifyLocal(Path file, Optional<String> expected) throws ModelLoadException {
        String sha;
        try {
            sha = sha256Of(file);
        } catch (IOException e) {
            throw new ModelLoadException("cannot read " + file + ": " + e, e);
        }
        if (expected.isPresent() && !sha.equals(expected.get())) {
            throw new ModelLoadException("SHA-256 mismatch for " + file + ": expected " + expected.get()
                    + " (sapiens.model.sha256 or the preset's recorded SHA-256), got " + sha);
        }
        return sha;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    private static String megabytesQuietly(Path file) {
        try {
            return megabytes(Files.size(file));
        } catch (IOException e) {
            return "size unknown";
        }
    }

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
