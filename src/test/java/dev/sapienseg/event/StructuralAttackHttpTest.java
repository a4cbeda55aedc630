package dev.sapienseg.event;

import dev.sapienseg.fixtures.CloudEvents;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.Readiness;
import dev.sapienseg.fixtures.StructuralAttacks;
import dev.sapienseg.image.StructuralAttackTest;
import dev.sapienseg.image.StructuralAttackTest.Case;
import dev.sapienseg.failure.FailureReason;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.config.HttpClientConfig;
import io.restassured.config.RestAssuredConfig;
import io.restassured.response.Response;

/**
 * The structural attacks over real HTTP, as binary-mode CloudEvents: the duplicate-size TIFFs that used to be
 * decoded at 81 Mpx (200) and to run the pod out of memory (500, redelivered by Knative forever) are answered with a
 * permanent 4xx, as is every other attack of the corpus; the pod stays ready and its memory bounded.
 */
@QuarkusTest
class StructuralAttackHttpTest {

    private static final RestAssuredConfig TIMEOUTS = RestAssuredConfig.config().httpClient(HttpClientConfig
            .httpClientConfig().setParam("http.socket.timeout", 60_000).setParam("http.connection.timeout", 5_000));

    private static Response post(String id, byte[] body) {
        return CloudEvents.binary(CloudEvents.IMAGE, id, "/structural-attacks").config(TIMEOUTS)
                .header("ce-sapiensoutputs", "none").contentType("application/octet-stream").body(body).post("/");
    }

    @Test
    void duplicateSizeTiffsAndEveryStructuralAttackGetAPermanent4xx() {
        Readiness.awaitReady();
        List<String> table = new ArrayList<>();
        long rssStart = StructuralAttackTest.rssKb();
        long peak = rssStart;

        // The two attacks of the report, first and explicitly.
        Response small = post("dup-9000", StructuralAttacks.tiffDuplicateSize(9000, 1));
        assertEquals(422, small.statusCode(), small.asString());
        assertEquals(FailureReason.CORRUPT_IMAGE.code(), small.jsonPath().getString("error"));
        assertTrue(small.jsonPath().getString("message").contains("tag 256 twice"), small.asString());
        Response huge = post("dup-32768", StructuralAttacks.tiffDuplicateSize(32768, 1));
        assertEquals(422, huge.statusCode(), huge.asString());
        assertEquals(false, huge.jsonPath().getBoolean("retryable"));

        for (Case c : StructuralAttackTest.refused()) {
            long rss0 = StructuralAttackTest.rssKb();
            long t0 = System.nanoTime();
            Response r = post(c.attack().name(), c.attack().data());
            long ms = (System.nanoTime() - t0) / 1_000_000;
            long rss1 = StructuralAttackTest.rssKb();
            peak = Math.max(peak, rss1);
            String code = r.statusCode() == 200 ? "decoded" : r.jsonPath().getString("error");
            table.add(String.format("| %-34s | %9d | %3d %-20s | %5d -> %5d | %6d |", c.attack().name(),
                    c.attack().data().length, r.statusCode(), code, rss0 / 1024, rss1 / 1024, ms));
            if (c.expected() == null) {
                assertEquals(200, r.statusCode(), c.attack() + ": " + r.asString());
                continue;
            }
            assertEquals(c.expected().httpStatus(), r.statusCode(), c.attack() + ": " + r.asString());
            assertEquals(c.expected().code(), code, c.attack() + ": " + r.asString());
            assertEquals(false, r.jsonPath().getBoolean("retryable"), c.attack() + ": " + r.asString());
        }
        System.out.println("| input (HTTP) | bytes | answer | RSS MB before -> after | ms |");
        System.out.println("|---|---|---|---|---|");
        table.forEach(System.out::println);
        System.out.printf("structural attacks over HTTP: RSS %d MB at start, %d MB at most%n", rssStart / 1024,
                peak / 1024);
        assertEquals(200, given().get("/q/health/ready").statusCode());
        assertEquals(200, given().get("/q/health/live").statusCode());
        // Before the fix the 32768x32768 TIFF alone took RSS past 3 GB; the refusals allocate no pixels.
        assertTrue(peak < rssStart + (512L << 10), "RSS grew from " + rssStart / 1024 + " MB to " + peak / 1024 + " MB");
    }
}
