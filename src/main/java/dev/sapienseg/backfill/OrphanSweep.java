package dev.sapienseg.backfill;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

import dev.sapienseg.output.OutputKind;
import dev.sapienseg.output.OutputLayout;
import dev.sapienseg.storage.OutputKeys;

/**
 * Finds and removes what storage attempts that never wrote their summary left behind: a process killed mid-write
 * (SIGKILL, a node lost) whose object is never delivered again. The next delivery of an object cleans its own name
 * up; this is for the rest.
 *
 * <p>The rule: under the function's output prefix, an output name (the keys {@link OutputKeys} derives for one source)
 * with no summary ({@code <name>.json}) and whose newest object is older than {@code age} is an orphan, and all its
 * objects are removed. {@code age} must exceed the longest an attempt can take (its request timeout plus the storage
 * calls' timeouts): a younger name may be an attempt still writing. Keys that are no output of ours are never touched.
 *
 * <p>The listing is streamed: a name's keys all sort between the name and the name followed by {@code '`'} (every
 * suffix starts with {@code '.'} or {@code '_'}), in UTF-8 byte order as S3 lists them, so a name is judged as soon as
 * the listing passes that point and memory holds only the names still open.
 */
final class OrphanSweep {

    /** Suffixes of every output kind, the overlay in both formats: the keys of an empty name. */
    private static final List<String> SUFFIXES = new OutputKeys("").all();
    private static final Comparator<String> S3_ORDER = (a, b) -> Arrays.compareUnsigned(
            a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));

    /** What the sweep found. */
    record Result(long names, long orphans, long removedObjects, long tooYoung) {
        String summary(boolean dryRun, Duration age) {
            return String.format("sweep: %d output names, %d without a summary older than %s: %s %d objects; %d younger"
                    + " left alone (an attempt may be under way)", names, orphans, age, dryRun ? "would remove"
                            : "removed", removedObjects, tooYoung);
        }
    }

    private static final class Name {
        final Set<String> keys = new LinkedHashSet<>();
        boolean summary;
        Instant newest = Instant.MIN;
    }

    private final S3Client s3;
    private final String bucket;
    private final String outputPrefix;
    private final Duration age;
    private final boolean dryRun;
    private final Instant now;
    private long names;
    private long orphans;
    private long removed;
    private long young;

    OrphanSweep(S3Client s3, String bucket, String outputPrefix, Duration age, boolean dryRun, Instant now) {
        this.s3 = s3;
        this.bucket = bucket;
        this.outputPrefix = outputPrefix;
        this.age = age;
        this.dryRun = dryRun;
        this.now = now;
    }

    /** Sweeps the output names under {@code listPrefix} (which starts with the output prefix). */
    Result run(String listPrefix) {
        TreeMap<String, Name> open = new TreeMap<>(S3_ORDER);
        for (S3Object object : s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(listPrefix)).contents()) {
            String key = object.key();
            while (!open.isEmpty() && S3_ORDER.compare(open.firstKey() + "`", key) < 0) {
                Map.Entry<String, Name> done = open.pollFirstEntry();
                judge(done.getKey(), done.getValue());
            }
            String name = nameOf(key);
            if (name == null) {
                continue; // not one of our outputs
            }
            Name seen = open.computeIfAbsent(name, n -> new Name());
            seen.keys.add(key);
            seen.summary |= key.equals(OutputLayout.OBJECT_STORE.fileName(OutputKind.SUMMARY, name, ".png"));
            if (object.lastModified() != null && object.lastModified().isAfter(seen.newest)) {
                seen.newest = object.lastModified();
            }
        }
        open.forEach(this::judge);
        return new Result(names, orphans, removed, young);
    }

    private void judge(String name, Name seen) {
        names++;
        if (seen.summary) {
            return;
        }
        if (seen.newest.isAfter(now.minus(age))) {
            young++;
            return;
        }
        orphans++;
        for (String key : seen.keys) {
            if (!dryRun) {
                s3.deleteObject(b -> b.bucket(bucket).key(key));
            }
            removed++;
        }
    }

    /** The output name a key belongs to, or null when it is no output of ours. */
    String nameOf(String key) {
        if (!key.startsWith(outputPrefix)) {
            return null;
        }
        for (String suffix : SUFFIXES) {
            if (key.endsWith(suffix)) {
                String name = key.substring(0, key.length() - suffix.length());
                String source = name.substring(outputPrefix.length());
                if (OutputKeys.hasPictureExtension(source) || source.endsWith(".src")) {
                    return name; // one suffix at most fits (OutputKeys' proof)
                }
            }
        }
        return null;
    }
}
