package dev.sapienseg.storage;

import dev.sapienseg.fixtures.CloudEvents;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.util.Map;
import java.util.UUID;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.fixtures.Npy;
import dev.sapienseg.fixtures.Readiness;
import dev.sapienseg.fixtures.SampleImages;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.Response;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The storage path writes the configured selection's mask and cutout beside the class map, pixel-exact to it, records
 * the selection in the summary and in the outputs' identity (a redelivery is answered from the stored set); and the
 * shape outputs (RLE, polygons, instances), exact against the same class map.
 */
@QuarkusTest
@TestProfile(StorageSelectionTest.Profile.class)
@WithTestResource(S3ProxyResource.class)
class StorageSelectionTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("sapiens.storage.outputs", "class-npy,selection-mask,cutout,rle,polygons,instances",
                    "sapiens.selection.classes", "clothing+hair", "sapiens.selection.invert", "true");
        }
    }

    private static Response notify(String key) {
        return CloudEvents.binary("com.amazon.sqs.message", UUID.randomUUID().toString(), "/tests/storage")
                .contentType("application/json")
                .body(StorageTriggerTest.s3Notification("photos", key, "ObjectCreated:Put")).post("/");
    }

    @Test
    void theConfiguredSelectionIsStoredPixelExact() throws Exception {
        Readiness.awaitReady();
        byte[] figure = java.nio.file.Files.readAllBytes(SampleImages.FIGURE_JPG);
        String key = "selection/figure.jpg";
        try (S3Client s3 = S3ProxyResource.client()) {
            s3.putObject(b -> b.bucket("photos").key(key).contentType("image/jpeg"), RequestBody.fromBytes(figure));
            notify(key).then().statusCode(200).body("results[0].reused", equalTo(false))
                    .body("results[0].objects.size()", equalTo(7))
                    .body("results[0].segmentation.selection.expression", equalTo("clothing+hair"))
                    .body("results[0].segmentation.selection.invert", equalTo(true));
            String prefix = "sapiens-seg/" + key;
            long[] ids = Npy.read(s3.getObjectAsBytes(b -> b.bucket("photos").key(prefix + "_seg.npy")).asByteArray())
                    .values();
            Raster mask = ImageIO.read(new ByteArrayInputStream(
                    s3.getObjectAsBytes(b -> b.bucket("photos").key(prefix + "_selection.png")).asByteArray())).getRaster();
            Raster cutout = ImageIO.read(new ByteArrayInputStream(
                    s3.getObjectAsBytes(b -> b.bucket("photos").key(prefix + "_cutout.png")).asByteArray())).getRaster();
            JsonNode summary = new ObjectMapper().readTree(
                    s3.getObjectAsBytes(b -> b.bucket("photos").key(prefix + ".json")).asByteArray()).get("segmentation").get("selection");
            java.util.Set<Integer> kept = new java.util.HashSet<>();
            summary.get("classIds").forEach(id -> kept.add(id.asInt()));
            assertTrue(kept.contains(0) && kept.contains(21) && !kept.contains(3) && !kept.contains(22), kept.toString());
            int w = mask.getWidth();
            long selected = 0;
            for (int i = 0; i < ids.length; i++) {
                boolean in = kept.contains((int) ids[i]);
                assertEquals(in ? 255 : 0, mask.getSample(i % w, i / w, 0), "pixel " + i);
                assertEquals(in ? 255 : 0, cutout.getSample(i % w, i / w, 3), "pixel " + i);
                selected += in ? 1 : 0;
            }
            assertEquals(selected, summary.get("pixels").asLong());
            assertEquals(480 * 640, ids.length);
            byte[] classes = new byte[ids.length];
            for (int i = 0; i < ids.length; i++) {
                classes[i] = (byte) ids[i];
            }
            for (String shapes : new String[] {"_rle.json", "_polygons.json"}) {
                JsonNode document = new ObjectMapper().readTree(
                        s3.getObjectAsBytes(b -> b.bucket("photos").key(prefix + shapes)).asByteArray());
                dev.sapienseg.fixtures.CocoMasks.assertExact(document.get("classes"), classes, w, 640);
            }
            byte[] persons = dev.sapienseg.fixtures.TestImages.values(
                    s3.getObjectAsBytes(b -> b.bucket("photos").key(prefix + "_instances.png")).asByteArray());
            for (int i = 0; i < ids.length; i++) {
                assertEquals(ids[i] != 0, persons[i] != 0, "pixel " + i);
            }
            // A redelivery finds the same selection's outputs complete.
            notify(key).then().statusCode(200).body("results[0].reused", equalTo(true));
        }
    }
}
