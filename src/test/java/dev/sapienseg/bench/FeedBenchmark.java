package dev.sapienseg.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.sapienseg.fixtures.CloudEvents;
import dev.sapienseg.fixtures.PackagedApp;

/**
 * How much CPU the server spends per picture outside the model run: what a GPU pod's CPUs must supply for its GPU.
 * The packaged server runs as a GPU pod is configured (batches of 1, 2, 4, 8; 32 in flight) with the palette demo
 * model, whose run is nearly free, and ONNX Runtime on one intra-op thread, so that the whole model run is on the
 * {@code sapiens-inference-0} thread. Clients post JPEGs (1080p and 12 MP; binary CloudEvents, class PNG reply) for a
 * fixed time; the server process's CPU time (all threads, from /proc) over the pictures answered is the CPU per
 * picture, and minus the inference thread's, the part outside the model run. Beside it: the floor ({@link OpenCvFloor},
 * measured in the same run) and the server's mean stage latencies from {@code /q/metrics}. Not a test:
 *
 * <pre>
 * mvn -B package -DskipTests
 * mvn -q test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=dev.sapienseg.bench.FeedBenchmark -Dexec.args="20"
 * </pre>
 *
 * The argument is the measured seconds per point (after 5 s of warm-up at the same concurrency). Linux only.
 * {@code -Dfeed.jfr=/tmp/feed.jfr} records the server with JFR's profile settings and dumps the recording there at
 * the end; {@code -Dfeed.jvm="..."} adds JVM options to the server (space-separated).
 */
public final class FeedBenchmark {

    private static final int PORT = 18093;
    private static final int[] CLIENTS = {2, 8, 16};
    private static final long TICKS_PER_SECOND = 100; // USER_HZ on Linux
    private static final List<String> STAGES = List.of("decode", "preprocess", "queue", "inference", "postprocess",
            "encode");
    private static final Pattern STAGE = Pattern.compile("stage=\"([a-z-]+)\"");

    private record Picture(String label, byte[] jpeg, double floor) {
    }

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        List<Picture> pictures = new ArrayList<>();
        for (int[] size : new int[][] {{1920, 1080, 15}, {4032, 3024, 7}}) {
            byte[] jpeg = StageBenchmark.photoLikeJpeg(size[0], size[1], 7);
            pictures.add(new Picture(size[0] + "x" + size[1] + " JPEG (" + jpeg.length / 1024 + " KB)", jpeg,
                    OpenCvFloor.millis(jpeg, size[2])));
        }
        System.out.printf("palette demo model, class PNG reply, %d s per point, %d cores%n", seconds,
                Runtime.getRuntime().availableProcessors());
        List<String> options = new ArrayList<>(List.of("sapiens.batching.max-batch-size=8",
                "sapiens.batching.batch-sizes=1,2,4,8", "sapiens.batching.max-delay=5ms",
                "sapiens.limits.max-in-flight=32", "sapiens.limits.queue-timeout=120s",
                "sapiens.execution.intra-op-threads=1", "quarkus.log.level=WARN"));
        String jfr = System.getProperty("feed.jfr", "");
        if (!jfr.isEmpty()) {
            options.add("-XX:StartFlightRecording=name=feed,settings=profile");
        }
        String jvm = System.getProperty("feed.jvm", "").strip();
        if (!jvm.isEmpty()) {
            options.addAll(List.of(jvm.split("\\s+")));
        }
        List<String> stageRows = new ArrayList<>();
        try (PackagedApp app = PackagedApp.start(PORT, options.toArray(String[]::new))) {
            app.awaitReady(Duration.ofSeconds(120));
            System.out.println("| picture | floor (OpenCV, 1 thread) | clients | pictures/s | server CPU per picture "
                    + "| ÷ floor | of it outside the model run | of it in the kernel (system) | pictures/s per core |");
            System.out.println("|---|---|---|---|---|---|---|---|---|");
            for (Picture picture : pictures) {
                for (int clients : CLIENTS) {
                    post(app, picture.jpeg(), clients, 5);
                    long[] before = cpu(app.pid());
                    Map<String, double[]> stagesBefore = stages(app);
                    long start = System.nanoTime();
                    int answered = post(app, picture.jpeg(), clients, seconds);
                    double elapsed = (System.nanoTime() - start) / 1e9;
                    long[] after = cpu(app.pid());
                    Map<String, double[]> stagesAfter = stages(app);
                    double total = (after[0] - before[0]) * 1000.0 / TICKS_PER_SECOND / answered;
                    double outside = (after[0] - before[0] - (after[1] - before[1])) * 1000.0 / TICKS_PER_SECOND
                            / answered;
                    double system = (after[2] - before[2]) * 1000.0 / TICKS_PER_SECOND / answered;
                    System.out.printf("| %s | %.1f ms | %d | %.1f | %.1f ms | %.2f | %.1f ms | %.1f ms | %.1f |%n",
                            picture.label(), picture.floor(), clients, answered / elapsed, total,
                            total / picture.floor(), outside, system, 1000.0 / total);
                    StringBuilder row = new StringBuilder("| " + picture.label() + " | " + clients + " |");
                    for (String stage : STAGES) {
                        double[] b = stagesBefore.getOrDefault(stage, new double[2]);
                        double[] a = stagesAfter.getOrDefault(stage, new double[2]);
                        row.append(String.format(" %.1f |", (a[0] - b[0]) * 1000 / Math.max(1, a[1] - b[1])));
                    }
                    stageRows.add(row.toString());
                }
            }
            if (!jfr.isEmpty()) { // the server exits by halting, so the recording is dumped while it runs
                new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                        String.valueOf(app.pid()), "JFR.dump", "name=feed", "filename=" + jfr).inheritIO().start()
                        .waitFor();
            }
        }
        System.out.println();
        System.out.println("Mean stage latency per picture (wall ms, from the server's sapiens.stage.duration):");
        System.out.println("| picture | clients | " + String.join(" | ", STAGES) + " |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        stageRows.forEach(System.out::println);
    }

    /** Per stage: the sum of seconds and the count of {@code sapiens_stage_duration_seconds}. */
    private static Map<String, double[]> stages(PackagedApp app) throws IOException, InterruptedException {
        String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(app.uri("/q/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        Map<String, double[]> stages = new HashMap<>();
        for (String line : metrics.split("\n")) {
            boolean sum = line.startsWith("sapiens_stage_duration_seconds_sum{");
            if (!sum && !line.startsWith("sapiens_stage_duration_seconds_count{")) {
                continue;
            }
            Matcher stage = STAGE.matcher(line);
            if (stage.find()) {
                double value = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                stages.computeIfAbsent(stage.group(1), k -> new double[2])[sum ? 0 : 1] = value;
            }
        }
        return stages;
    }

    /** Posts for {@code seconds} from {@code clients} threads; returns the pictures answered 200. */
    private static int post(PackagedApp app, byte[] picture, int clients, int seconds) throws InterruptedException {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        ExecutorService callers = Executors.newFixedThreadPool(clients);
        long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger other = new AtomicInteger();
        for (int t = 0; t < clients; t++) {
            callers.execute(() -> {
                while (System.nanoTime() < end) {
                    HttpRequest request = HttpRequest.newBuilder(app.uri("/"))
                            .headers(CloudEvents.pairs(CloudEvents.IMAGE, UUID.randomUUID().toString(), "/feed"))
                            .header("Content-Type", "image/jpeg").timeout(Duration.ofSeconds(120))
                            .POST(HttpRequest.BodyPublishers.ofByteArray(picture)).build();
                    try {
                        int status = client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
                        (status == 200 ? ok : other).incrementAndGet();
                    } catch (IOException | InterruptedException e) {
                        other.incrementAndGet();
                    }
                }
            });
        }
        callers.shutdown();
        callers.awaitTermination(seconds + 180L, TimeUnit.SECONDS);
        if (other.get() > 0) {
            System.out.printf("(%d answers other than 200 at %d clients)%n", other.get(), clients);
        }
        return ok.get();
    }

    /** The process's CPU ticks (user + system, all threads), those of its model-run thread, and its system ticks. */
    private static long[] cpu(long pid) throws IOException {
        long inference = 0;
        try (var tasks = Files.list(Path.of("/proc", String.valueOf(pid), "task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                String stat = Files.readString(task.resolve("stat"));
                if (stat.contains("(sapiens-inferen")) {
                    inference += ticks(stat);
                }
            }
        }
        String stat = Files.readString(Path.of("/proc", String.valueOf(pid), "stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return new long[] {ticks(stat), inference, Long.parseLong(fields[12])};
    }

    /** utime + stime of a /proc stat line (fields 14 and 15; the name in parentheses may hold spaces). */
    private static long ticks(String stat) {
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    }
}
