package dev.sapienseg.provisioning;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

import org.jboss.logging.Logger;

import dev.sapienseg.model.ModelIdentity;
import dev.sapienseg.model.ModelLoadException;
import dev.sapienseg.util.Digests;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Makes a model available as a local file: local paths are used in place; remote ones are downloaded once into a
 * cache folder (one sub-folder per source, external-data files beside the model), verified with SHA-256, and reused
 * by later starts. Downloads go to {@code .part} files and are renamed when complete and verified, so a pod killed
 * mid-download never leaves a file that looks finished; a file lock lets pods that share a cache volume take turns.
 * This class decides what is fetched, from where, into which place, and what is recorded about it; how one file is
 * transferred (resuming, stall detection, retries) is {@link FileDownloader}'s.
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
    private final FileDownloader downloader;

    public ModelProvisioner(Settings settings, List<ModelFetcher> fetchers, DownloadProgress progress) {
        this.settings = settings;
        this.fetchers = fetchers;
        this.downloader = new FileDownloader(settings, progress);
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
                String have = FileSha256.of(marker.getKey());
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

    /** The verified SHA-256 recorded for a complete cached file. */
    static Optional<String> recorded(Path file) throws IOException {
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
        return Digests.sha256Hex(source.describe()).substring(0, 16);
    }

    /** Makes {@code target} a verified copy of {@code source}; true when it had to be downloaded. */
    private boolean fetch(ModelSource source, Path target, Optional<String> expected) throws ModelLoadException,
            IOException {
        Optional<String> recorded = recorded(target);
        if (recorded.isPresent()) {
            if (expected.isEmpty() || expected.get().equals(recorded.get())) {
                LOG.infof("model file %s: using the cached copy %s (%s, sha256 %s)", source.describe(), target,
                        FileDownloader.megabytes(Files.size(target)), recorded.get());
                return false;
            }
            LOG.infof("model file %s: the cached copy has sha256 %s, %s is expected: downloading again",
                    source.describe(), recorded.get(), expected.get());
            Files.delete(marker(target));
        }
        ModelFetcher fetcher = fetchers.stream().filter(f -> f.handles(source)).findFirst()
                .orElseThrow(() -> new ModelLoadException("no way to download " + source.describe()));
        String sha = downloader.download(fetcher, source, target, expected);
        // Written last: a marker beside a file means the file is whole and was verified.
        Files.writeString(marker(target), sha + "\n", StandardCharsets.UTF_8);
        return true;
    }

    /** A local model file's SHA-256, checked against the expected one when given. */
    private static String verifyLocal(Path file, Optional<String> expected) throws ModelLoadException {
        String sha;
        try {
            sha = FileSha256.of(file);
        } catch (IOException e) {
            throw new ModelLoadException("cannot read " + file + ": " + e, e);
        }
        if (expected.isPresent() && !sha.equals(expected.get())) {
            throw new ModelLoadException("SHA-256 mismatch for " + file + ": expected " + expected.get()
                    + " (sapiens.model.sha256 or the preset's recorded SHA-256), got " + sha);
        }
        return sha;
    }

    private static String megabytesQuietly(Path file) {
        try {
            return FileDownloader.megabytes(Files.size(file));
        } catch (IOException e) {
            return "size unknown";
        }
    }
}
