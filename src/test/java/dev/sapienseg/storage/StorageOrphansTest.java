package dev.sapienseg.storage;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.sapienseg.backfill.BackfillCommand;
import dev.sapienseg.fixtures.Readiness;
import dev.sapienseg.fixtures.SampleImages;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.output.OutputLayout;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * What a storage attempt killed before its summary leaves behind (objects under the output prefix, no summary) is
 * found and removed: by the next delivery of the same object for its own name, and by the backfill's
 * {@code --sweep-orphans} for names never delivered again, with the age rule. Nothing else is touched.
 */
@QuarkusTest
@WithTestResource(S3ProxyResource.class)
class StorageOrphansTest {

    private static final String PREFIX = "sapiens-seg/";

    @BeforeEach
    void ready() {
        Readiness.awaitReady();
    }

    private static void put(String key, byte[] data) {
        try (S3Client s3 = S3ProxyResource.client()) {
            s3.putObject(b -> b.bucket("photos").key(key), RequestBody.fromBytes(data));
        }
    }

    /** Keys and ETags under a prefix of the photos bucket. */
    private static Map<String, String> listed(String prefix) {
        Map<String, String> keys = new TreeMap<>();
        try (S3Client s3 = S3ProxyResource.client()) {
            for (S3Object o : s3.listObjectsV2Paginator(b -> b.bucket("photos").prefix(prefix)).contents()) {
                keys.put(o.key(), o.eTag().replace("\"", ""));
            }
        }
        return keys;
    }

    @Test
    void theNextDeliveryReplacesAKilledAttemptsObjectsAndRemovesThoseItDoesNotList() throws Exception {
        String source = "orphans/k.jpg";
        put(source, Files.readAllBytes(SampleImages.FIGURE_JPG));
        OutputKeys keys = OutputKeys.derive(PREFIX, null, source);
        // A killed attempt: a partial class map, and an output of a set this pod does not write (another
        // configuration during a rolling update); no summary. Beside it, another source's complete result whose
        // keys share the prefix (its key is orphans/k.jpg.png).
        byte[] garbage = "cut short".getBytes(StandardCharsets.UTF_8);
        put(OutputLayout.OBJECT_STORE.fileName(OutputKind.CLASS_NPY, keys.base(), ".jpg"), garbage);
        String unlisted = keys.all().stream().filter(k -> k.endsWith("_overlay.png")).findFirst().orElseThrow();
        put(unlisted, garbage);
        String sibling = OutputLayout.OBJECT_STORE.fileName(OutputKind.SUMMARY, PREFIX + "orphans/k.jpg.png", ".png");
        put(sibling, "{}".getBytes(StandardCharsets.UTF_8));

        JsonPath reply = given().contentType("application/json")
                .body(StoredOutputs.minioNotification("photos", source)).post("/storage/notifications")
                .then().statusCode(200).body("results[0].reused", equalTo(false)).extract().jsonPath();
        Map<String, String> stored = new TreeMap<>();
        List<Map<String, Object>> objects = reply.getList("results[0].objects");
        objects.forEach(o -> stored.put((String) o.get("key"), (String) o.get("eTag")));

        Map<String, String> present = listed(PREFIX + "orphans/");
        assertTrue(present.containsKey(sibling), "another source's result is never touched: " + present.keySet());
        present.remove(sibling);
        assertEquals(stored, present, "exactly the listed outputs remain, each as the summary lists it");
        assertTrue(stored.containsKey(OutputLayout.OBJECT_STORE.fileName(OutputKind.CLASS_NPY, keys.base(), ".jpg")));
    }

    private static String backfill(int expectedStatus, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int status = BackfillCommand.execute(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(out, true, StandardCharsets.UTF_8),
                Map.of("quarkus.s3.endpoint-override", S3ProxyResource.endpoint(), "quarkus.s3.aws.region", "us-east-1",
                        "quarkus.s3.aws.credentials.static-provider.access-key-id", S3ProxyResource.ACCESS_KEY,
                        "quarkus.s3.aws.credentials.static-provider.secret-access-key", S3ProxyResource.SECRET_KEY),
                args);
        String printed = out.toString(StandardCharsets.UTF_8);
        assertEquals(expectedStatus, status, printed);
        return printed;
    }

    @Test
    void theSweepRemovesOldNamesWithoutASummaryAndNothingElse() {
        String area = PREFIX + "sweep/";
        Set<String> orphans = Set.of(area + "lost.jpg.npy", area + "lost.jpg_seg.png", area + "a.jpg.npy",
                area + "noext.src_seg.npy");
        Set<String> kept = Set.of(area + "done.jpg.npy", area + "done.jpg.json", // complete
                area + "a.jpg.png.json", area + "a.jpg.png_seg.npy", // complete, interleaved with a.jpg's keys
                area + "notes.txt", area + "lost.jpg.backup"); // no outputs of ours
        byte[] bytes = "x".getBytes(StandardCharsets.UTF_8);
        orphans.forEach(k -> put(k, bytes));
        kept.forEach(k -> put(k, bytes));
        Set<String> all = new TreeSet<>(orphans);
        all.addAll(kept);

        String young = backfill(0, "--bucket", "photos", "--prefix", "sweep/", "--sweep-orphans", "1h");
        assertTrue(young.contains("3 younger left alone"), young);
        assertEquals(all, listed(area).keySet());

        String dry = backfill(0, "--bucket", "photos", "--prefix", "sweep/", "--sweep-orphans", "0s", "--dry-run");
        assertTrue(dry.contains("3 without a summary older than PT0S: would remove 4 objects"), dry);
        assertEquals(all, listed(area).keySet());

        String swept = backfill(0, "--bucket", "photos", "--prefix", "sweep/", "--sweep-orphans", "0s");
        assertTrue(swept.contains("5 output names, 3 without a summary older than PT0S: removed 4 objects"), swept);
        assertEquals(new TreeSet<>(kept), listed(area).keySet());

        assertTrue(backfill(2, "--bucket", "photos", "--sweep-orphans", "soon").contains("needs an age"));
        assertTrue(backfill(2, "--bucket", "photos").contains("--sink is required"));
    }
}
