package dev.sapienseg.event;

import dev.sapienseg.fixtures.CloudEvents;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.OutputStream;
import java.net.Socket;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.SampleImages;
import dev.sapienseg.fixtures.Readiness;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/** Clients that vanish mid-upload or mid-reply leave nothing behind: the pod stays ready and keeps serving. */
@QuarkusTest
@Tag("timing")
class ClientDisconnectTest {

    @TestHTTPResource("/")
    URL url;

    @Test
    void disconnectsMidUploadAndMidReply() throws Exception {
        Readiness.awaitReady();
        byte[] picture = Files.readAllBytes(SampleImages.FIGURE_JPG);
        for (int i = 0; i < 20; i++) {
            try (Socket socket = new Socket(url.getHost(), url.getPort())) {
                OutputStream out = socket.getOutputStream();
                String head = "POST / HTTP/1.1\r\nHost: localhost\r\nce-specversion: 1.0\r\nce-id: gone-" + i
                        + "\r\nce-source: /tests\r\nce-type: sapiens.segment\r\nContent-Type: image/jpeg\r\nContent-Length: "
                        + picture.length + "\r\n\r\n";
                out.write(head.getBytes(StandardCharsets.US_ASCII));
                // Half the picture, then gone (even iterations); the whole picture, then gone before the reply (odd).
                out.write(picture, 0, i % 2 == 0 ? picture.length / 2 : picture.length);
                out.flush();
            }
        }
        Thread.sleep(1000);
        assertEquals(200, given().get("/q/health/ready").statusCode());
        assertEquals(200, given().get("/q/health/live").statusCode());
        CloudEvents.binary(CloudEvents.IMAGE, "after", CloudEvents.SOURCE).contentType("image/jpeg").body(picture).post("/")
                .then().statusCode(200);
    }
}
