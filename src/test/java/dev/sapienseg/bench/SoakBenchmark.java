package dev.sapienseg.bench;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import dev.sapienseg.fixtures.CloudEvents;
import dev.sapienseg.fixtures.PackagedApp;
import dev.sapienseg.fixtures.StructuralAttacks;
import dev.sapienseg.storage.S3ProxyResource;
import dev.sapienseg.storage.StoredOutputs;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The soak: the packaged function at capacity for a long time with a mix of good pictures, hostile ones and storage
 * notifications against a real S3-compatible server (S3Proxy), sampling every interval what would grow if anything
 * leaked: RSS, the heap after a full GC, the JVM's own native memory (NMT), open files and threads. Not a test:
 *
 * <pre>
 * ./mvnw -B package -DskipTests
 * ./mvnw -q test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=dev.sapienseg.bench.SoakBenchmark -Dexec.args="30 60"
 * </pre>
 *
 * Arguments: minutes (30), seconds between samples (60), and {@code trim} to have glibc return its free memory
 * ({@code jcmd System.trim_native_heap}) before each sample, which separates a leak from the allocator's retention.
 * {@code -Dsoak.mix=pictures|hostile|storage} sends only that kind. NMT sees the JVM's allocations only; ONNX Runtime's and
 * OpenCV's show in RSS only, so the table gives NMT's committed total without the Java heap, and RSS minus NMT's
 * committed total (heap included): what ONNX Runtime, OpenCV and the allocator's arenas hold.
 */
public final class SoakBenchmark {

    /** {@code -Dsoak.port}: two soaks can run side by side (an A/B of an environment setting) on other ports. */
    private static final int PORT = Integer.getInteger("soak.port", 18094);
    private static final int CALLERS = 4;
    private static final int STORED_OBJECTS = 20;

    private final Map<String, LongAdder> outcomes = new ConcurrentHashMap<>();
    private volatile boolean running = true;
    /** Trim glibc's free memory before each sample: RSS then shows what is in use, not what the allocator keeps. */
    private final boolean trim;

    private SoakBenchmark(boolean trim) {
        this.trim = trim;
    }

    public static void main(String[] args) throws Exception {
        int minutes = args.length > 0 ? Integer.parseInt(args[0]) : 30;
        int interval = args.length > 1 ? Integer.parseInt(args[1]) : 60;
        new SoakBenchmark(args.length > 2 && args[2].equals("trim")).run(minutes, interval);
    }

    private void run(int minutes, int interval) throws Exception {
        S3ProxyResource s3proxy = new S3ProxyResource();
        List<String> properties = new ArrayList<>(List.of("-XX:NativeMemoryTracking=summary", "-Xmx1g",
                "sapiens.limits.max-in-flight=4", "sapiens.batching.max-batch-size=2", "sapiens.batching.max-delay=10ms",
                "quarkus.log.level=WARN"));
        s3proxy.start().forEach((key, value) -> properties.add(key + "=" + value));
        byte[] good = StageBenchmark.photoLikeJpeg(1280, 720, 11);
        List<byte[]> hostile = hostilePictures(good);
        try (S3Client s3 = S3ProxyResource.client()) {
            for (int i = 0; i < STORED_OBJECTS; i++) {
                String key = "soak/" + i + ".jpg";
                s3.putObject(b -> b.bucket("photos").key(key), RequestBody.fromBytes(good));
            }
        }
        try (PackagedApp app = PackagedApp.start(PORT, properties.toArray(String[]::new))) {
            app.awaitReady(Duration.ofSeconds(120));
            System.out.printf("soak%s: %d min, %d callers (max-in-flight 4), 1280x720 JPEG; mix 70 %% pictures, 15 %%"
                    + " hostile, 15 %% storage notifications; %d cores%n", trim ? " (trimmed before each sample)" : "",
                    minutes, CALLERS,
                    Runtime.getRuntime().availableProcessors());
            System.out.println("| minute | requests | RSS MB | heap after GC MB | JVM native (NMT, no heap) MB | RSS - NMT MB"
                    + " | open files | threads |");
            System.out.println("|---|---|---|---|---|---|---|---|");
            List<Thread> callers = new ArrayList<>();
            for (int i = 0; i < CALLERS; i++) {
                long seed = i;
                Thread caller = new Thread(() -> call(app, good, hostile, new Random(seed)));
                caller.setDaemon(true);
                caller.start();
                callers.add(caller);
            }
            long end = System.nanoTime() + Duration.ofMinutes(minutes).toNanos();
            sample(app.pid(), 0);
            for (int second = interval; System.nanoTime() < end; second += interval) {
                Thread.sleep(interval * 1000L);
                sample(app.pid(), second / 60.0);
            }
            running = false;
            for (Thread caller : callers) {
                caller.join(60_000);
            }
            System.out.println("outcomes: " + new java.util.TreeMap<>(outcomes));
        } finally {
            s3proxy.stop();
        }
    }

    private static List<byte[]> hostilePictures(byte[] jpeg) {
        List<byte[]> pictures = new ArrayList<>();
        pictures.add(StructuralAttacks.jpegLyingSof(jpeg, 60000, 60000));
        pictures.add(StructuralAttacks.pngOversizedIdat(1L << 30));
        pictures.add(StructuralAttacks.tiffManyDirectories(5000));
        pictures.add(java.util.Arrays.copyOf(jpeg, jpeg.length / 2)); // cut short
        pictures.add("not a picture at all".getBytes(StandardCharsets.UTF_8));
        return pictures;
    }

    private void call(PackagedApp app, byte[] good, List<byte[]> hostile, Random random) {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        while (running) {
            // Below 70 a picture, 70-84 a storage notification, from 85 a hostile picture; -Dsoak.mix isolates one.
            int dice = switch (System.getProperty("soak.mix", "all")) {
                case "pictures" -> 0;
                case "storage" -> 75;
                case "hostile" -> 90;
                default -> random.nextInt(100);
            };
            HttpRequest request;
            String kind;
            if (dice < 70 || dice >= 85) {
                boolean bad = dice >= 85;
                kind = bad ? "hostile" : "picture";
                HttpRequest.Builder builder = HttpRequest.newBuilder(app.uri("/")).header("Content-Type", "image/jpeg")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(bad ? hostile.get(random.nextInt(hostile.size())) : good));
                CloudEvents.headers(CloudEvents.IMAGE, "soak-" + random.nextLong(), "/soak").forEach(builder::header);
                request = builder.build();
            } else {
                kind = "storage";
                if (random.nextInt(4) == 0) { // a new version: the notification recomputes instead of reusing
                    reupload(good, random);
                }
                String key = "soak/" + random.nextInt(STORED_OBJECTS) + ".jpg";
                request = HttpRequest.newBuilder(app.uri("/storage/notifications")).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(StoredOutputs.minioNotification("photos", key)))
                        .build();
            }
            String outcome;
            try {
                outcome = kind + " " + client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
            } catch (IOException e) {
                outcome = kind + " " + e.getClass().getSimpleName();
            } catch (InterruptedException e) {
                return;
            }
            outcomes.computeIfAbsent(outcome, o -> new LongAdder()).increment();
            if (outcome.endsWith(" 429") || outcome.endsWith(" 503")) {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    private static void reupload(byte[] good, Random random) {
        byte[] changed = good.clone();
        changed[changed.length - 3] ^= (byte) (1 + random.nextInt(100)); // inside the entropy data: still a JPEG
        String key = "soak/" + random.nextInt(STORED_OBJECTS) + ".jpg";
        try (S3Client s3 = S3ProxyResource.client()) {
            s3.putObject(b -> b.bucket("photos").key(key), RequestBody.fromBytes(changed));
        }
    }

    private void sample(long pid, double minute) throws Exception {
        long requests = outcomes.values().stream().mapToLong(LongAdder::sum).sum();
        jcmd(pid, "GC.run");
        if (trim) {
            jcmd(pid, "System.trim_native_heap");
        }
        long heap = kb(jcmd(pid, "GC.heap_info"), "used (\\d+)K");
        String native_ = jcmd(pid, "VM.native_memory", "summary");
        long nmt = kb(native_, "Total: reserved=\\d+KB, committed=(\\d+)KB");
        long javaHeap = kb(native_, "Java Heap \\(reserved=\\d+KB, committed=(\\d+)KB");
        long rss = kb(Files.readString(Path.of("/proc/" + pid + "/status")), "VmRSS:\\s+(\\d+) kB");
        long files;
        long threads;
        try (Stream<Path> fds = Files.list(Path.of("/proc/" + pid + "/fd"));
                Stream<Path> tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            files = fds.count();
            threads = tasks.count();
        }
        // NMT's total includes the committed heap; what RSS holds beyond it is native memory NMT does not see.
        System.out.printf("| %.1f | %d | %d | %d | %d | %d | %d | %d |%n", minute, requests, rss / 1024, heap / 1024,
                (nmt - javaHeap) / 1024, (rss - nmt) / 1024, files, threads);
    }

    private static String jcmd(long pid, String... command) throws IOException, InterruptedException {
        List<String> line = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                Long.toString(pid)));
        line.addAll(List.of(command));
        Process jcmd = new ProcessBuilder(line).redirectErrorStream(true).start();
        String out = new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        jcmd.waitFor();
        return out;
    }

    private static long kb(String text, String pattern) {
        Matcher m = Pattern.compile(pattern).matcher(text);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }
}
