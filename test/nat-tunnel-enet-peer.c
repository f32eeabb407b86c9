/*
 * A real ENet (libenet 1.3.x, the protocol of Godot's thirdparty/enet) server or client for
 * test/nat-tunnel.test.ts, built by the test with `gcc ... -lenet`. It talks only to 127.0.0.1
 * and prints one line per event on stdout.
 *
 *   nat-tunnel-enet-peer server
 *     listening <port> | connect <peer port> <data> | recv <peer port> <channel> <length> | disconnect <peer port>
 *     Echoes every packet back to its sender on the same channel with the same reliability.
 *     Exits when stdin closes.
 *   nat-tunnel-enet-peer client <server port> <godot id> <packets>
 *     connected | echo <seq> <length> | done | timeout
 *     Sends <packets> reliable packets on channel 0 (Godot's 8-byte peer ids, a 4-byte sequence,
 *     then filler; lengths vary up to 3000 bytes, so ENet fragments some), waits for every echo,
 *     disconnects. Gives up after 8 s.
 */
#include <enet/enet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int stdin_closed(void) {
  struct pollfd p = { 0, POLLIN, 0 };
  if (poll(&p, 1, 0) > 0) {
    char buf[64];
    return read(0, buf, sizeof buf) <= 0;
  }
  return 0;
}

static ENetAddress loopback(enet_uint16 port) {
  ENetAddress a;
  enet_address_set_host_ip(&a, "127.0.0.1");
  a.port = port;
  return a;
}

static int run_server(void) {
  ENetAddress bind = loopback(0);
  ENetHost *host = enet_host_create(&bind, 8, 0, 0, 0);
  if (host == NULL) { fprintf(stderr, "cannot create server host\n"); return 1; }
  ENetAddress bound;
  if (enet_socket_get_address(host->socket, &bound) != 0) return 1;
  printf("listening %u\n", bound.port);
  fflush(stdout);
  while (!stdin_closed()) {
    ENetEvent ev;
    while (enet_host_service(host, &ev, 5) > 0) {
      if (ev.type == ENET_EVENT_TYPE_CONNECT) {
        printf("connect %u %u\n", ev.peer->address.port, ev.data);
      } else if (ev.type == ENET_EVENT_TYPE_RECEIVE) {
        printf("recv %u %u %zu\n", ev.peer->address.port, ev.channelID, ev.packet->dataLength);
        ENetPacket *echo = enet_packet_create(ev.packet->data, ev.packet->dataLength, ev.packet->flags & ENET_PACKET_FLAG_RELIABLE);
        enet_peer_send(ev.peer, ev.channelID, echo);
        enet_packet_destroy(ev.packet);
      } else if (ev.type == ENET_EVENT_TYPE_DISCONNECT) {
        printf("disconnect %u\n", ev.peer->address.port);
      }
      fflush(stdout);
    }
  }
  enet_host_destroy(host);
  return 0;
}

static size_t packet_length(int seq) { return 12 + (size_t)((seq * 389) % 2989); }

static int run_client(int server_port, unsigned godot_id, int packets) {
  ENetAddress bind = loopback(0);
  ENetHost *host = enet_host_create(&bind, 1, 0, 0, 0);
  if (host == NULL) { fprintf(stderr, "cannot create client host\n"); return 1; }
  ENetAddress server = loopback((enet_uint16)server_port);
  /* Godot's create_client(channel_count = 0) asks for 255 channels and passes its peer id as data. */
  ENetPeer *peer = enet_host_connect(host, &server, 255, godot_id);
  if (peer == NULL) return 1;
  int connected = 0, echoed = 0, disconnecting = 0;
  enet_uint32 start = enet_time_get();
  while (enet_time_get() - start < 8000) {
    ENetEvent ev;
    int got = enet_host_service(host, &ev, 5);
    if (got < 0) break;
    if (got == 0) continue;
    if (ev.type == ENET_EVENT_TYPE_CONNECT) {
      connected = 1;
      printf("connected\n");
      for (int seq = 0; seq < packets; seq++) {
        size_t len = packet_length(seq);
        unsigned char *data = malloc(len);
        memset(data, (unsigned char)seq, len);
        memcpy(data, &godot_id, 4);          /* Godot: source peer id */
        memset(data + 4, 0, 4);              /* Godot: target 1 would be 1; 0 = broadcast */
        data[4] = 1;
        memcpy(data + 8, &seq, 4);
        enet_peer_send(peer, 0, enet_packet_create(data, len, ENET_PACKET_FLAG_RELIABLE));
        free(data);
      }
    } else if (ev.type == ENET_EVENT_TYPE_RECEIVE) {
      int seq;
      memcpy(&seq, ev.packet->data + 8, 4);
      printf("echo %d %zu\n", seq, ev.packet->dataLength);
      enet_packet_destroy(ev.packet);
      if (++echoed == packets && !disconnecting) {
        disconnecting = 1;
        enet_peer_disconnect(peer, 0);
      }
    } else if (ev.type == ENET_EVENT_TYPE_DISCONNECT) {
      printf(connected && echoed == packets ? "done\n" : "timeout\n");
      fflush(stdout);
      enet_host_destroy(host);
      return 0;
    }
    fflush(stdout);
  }
  printf("timeout\n");
  fflush(stdout);
  enet_host_destroy(host);
  return 0;
}

int main(int argc, char **argv) {
  if (enet_initialize() != 0) { fprintf(stderr, "enet_initialize failed\n"); return 1; }
  atexit(enet_deinitialize);
  if (argc >= 2 && strcmp(argv[1], "server") == 0) return run_server();
  if (argc >= 5 && strcmp(argv[1], "client") == 0) return run_client(atoi(argv[2]), (unsigned)strtoul(argv[3], NULL, 10), atoi(argv[4]));
  fprintf(stderr, "usage: %s server | client <port> <godot id> <packets>\n", argv[0]);
  return 2;
}
