package dev.sapienseg.event;

import dev.sapienseg.fixtures.CloudEvents;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.SampleImages;
import dev.sapienseg.fixtures.TestImages;
import dev.sapienseg.image.ImageFormat;
import dev.sapienseg.fixtures.Readiness;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.config.HttpClientConfig;
import io.restassured.config.RestAssuredConfig;
import io.restassured.response.Response;

/**
 * A bounded, deterministic bad-input campaign through the real HTTP endpoint: 2,000 mutated pictures (bit flips,
 * truncations, edited header dimensions, junk appended, wrong content types) and 200 malformed events. Every one must
 * be answered, quickly, with a valid result or a client error Knative does not retry — never a 5xx — and the pod must
 * stay ready with bounded memory.
 */
@QuarkusTest
class BadInputCampaignTest {

    private static final Set<Integer> ACCEPTABLE = Set.of(200, 400, 413, 415, 422);
    private static final RestAssuredConfig TIMEOUTS = RestAssuredConfig.config().httpClient(HttpClientConfig.httpClientConfig()
            .setParam("http.socket.timeout", 30_000).setParam("http.connection.timeout", 5_000));

    private static List<byte[]> seeds() throws Exception {
        List<byte[]> seeds = new ArrayList<>();
        try (Mat figure = SampleImages.figure(); Mat small = TestImages.gradient(97, 61)) {
            for (ImageFormat format : ImageFormat.values()) {
                seeds.add(TestImages.encode(small, format));
            }
            seeds.add(TestImages.jpeg(figure));
            seeds.add(TestImages.withExifOrientation(TestImages.jpeg(small), 6));
            seeds.add(TestImages.png16(40, 30, new int[] {1, 2, 3}));
        }
        return seeds;
    }

    /** One deterministic mutation of a seed picture. */
    static byte[] mutate(byte[] seed, Random random) {
        byte[] data = seed.clone();
        switch (random.nextInt(6)) {
            case 0 -> { // bit flips, often in the header
                int flips = 1 + random.nextInt(8);
                for (int i = 0; i < flips; i++) {
                    int at = random.nextBoolean() ? random.nextInt(Math.min(64, data.length)) : random.nextInt(data.length);
                    data[at] ^= (byte) (1 << random.nextInt(8));
                }
            }
            case 1 -> data = java.util.Arrays.copyOf(data, random.nextInt(data.length)); // truncation
            case 2 -> { // header dimensions edited: a 16-bit or 32-bit field near the start gets a huge value
                int at = 12 + random.nextInt(Math.max(1, Math.min(40, data.length - 16)));
                ByteBuffer.wrap(data).putInt(Math.min(at, data.length - 4), 0x7FFF0000 | random.nextInt(0xFFFF));
            }
            case 3 -> { // random bytes in the middle
                int at = random.nextInt(data.length);
                int n = Math.min(data.length - at, 1 + random.nextInt(256));
                for (int i = 0; i < n; i++) {
                    data[at + i] = (byte) random.nextInt(256);
                }
            }
            case 4 -> { // junk appended
                byte[] longer = java.util.Arrays.copyOf(data, data.length + 1 + random.nextInt(2048));
                for (int i = data.length; i < longer.length; i++) {
                    longer[i] = (byte) random.nextInt(256);
                }
                data = longer;
            }
            default -> { // a few bytes only
                data = java.util.Arrays.copyOf(data, random.nextInt(Math.min(32, data.length)));
            }
        }
        return data;
    }

    @Test
    void mutatedPicturesAndMalformedEventsNeverGetA5xx() throws Exception {
        Readiness.awaitReady();
        Random random = new Random(20261125L);
        List<byte[]> seeds = seeds();
        String[] contentTypes = {"image/jpeg", "image/png", "application/octet-stream", "text/plain", "image/gif"};
        Map<Integer, Integer> statuses = new TreeMap<>();
        long slowest = 0;
        long heapBefore = usedHeapAfterGc();
        for (int i = 0; i < 2000; i++) {
            byte[] body = mutate(seeds.get(random.nextInt(seeds.size())), random);
            long t0 = System.nanoTime();
            Response r = CloudEvents.binary(CloudEvents.IMAGE, "bad-" + i, "/campaign").config(TIMEOUTS)
                    .header("ce-sapiensoutputs", i % 3 == 0 ? "class-png,overlay" : "none")
                    .contentType(contentTypes[random.nextInt(contentTypes.length)]).body(body).post("/");
            slowest = Math.max(slowest, System.nanoTime() - t0);
            statuses.merge(r.statusCode(), 1, Integer::sum);
            assertTrue(ACCEPTABLE.contains(r.statusCode()), "mutation " + i + " got " + r.statusCode() + ": " + r.asString());
        }
        for (int i = 0; i < 200; i++) {
            Response r = given().config(TIMEOUTS).contentType("application/cloudevents+json")
                    .body(malformedEvent(random, i)).post("/");
            statuses.merge(r.statusCode(), 1, Integer::sum);
            assertTrue(ACCEPTABLE.contains(r.statusCode()), "event " + i + " got " + r.statusCode() + ": " + r.asString());
        }
        long heapAfter = usedHeapAfterGc();
        System.out.printf("bad-input campaign: statuses %s, slowest %.0f ms, heap after GC %d MB -> %d MB%n", statuses,
                slowest / 1e6, heapBefore >> 20, heapAfter >> 20);
        // A flipped header can still declare a legal picture of tens of megapixels: seconds of work, not a hang.
        assertTrue(slowest < Duration.ofSeconds(30).toNanos(), "an answer took " + slowest / 1e6 + " ms");
        assertTrue(heapAfter < heapBefore + (256L << 20), "heap grew from " + heapBefore + " to " + heapAfter);
        assertEquals(200, given().get("/q/health/ready").statusCode());
        assertEquals(200, given().get("/q/health/live").statusCode());
    }

    private static String malformedEvent(Random random, int i) {
        String[] bodies = {
                "{", "[]", "null", "{\"specversion\":\"1.0\"}", "{\"id\":1,\"source\":{},\"type\":[]}",
                "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"/s\",\"type\":\"sapiens.segment\",\"data_base64\":%s}",
                "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"/s\",\"type\":\"sapiens.segment\",\"data\":%s}",
                "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"/s\",\"type\":\"com.amazonaws.s3.ObjectCreated:Put\",\"datacontenttype\":\"application/json\",\"data\":%s}"};
        String[] values = {"\"!!!\"", "12", "{\"Records\":[{}]}", "\"" + "A".repeat(random.nextInt(100)) + "\"", "[1,2]",
                "{\"bucket\":\"photos\"}"};
        String body = bodies[random.nextInt(bodies.length)];
        return body.contains("%s") ? String.format(body, values[random.nextInt(values.length)]) : body;
    }

    private static long usedHeapAfterGc() {
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
