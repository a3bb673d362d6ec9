Feature: The client's session
  How the client connects: TLS 1.2 with its certificate, protected passive data connections,
  a gateway whose certificate it has checked, the username of its certificate, and recovery
  from dropped connections. A client must accept the genuine gateway's certificate before
  its refusal of an impostor counts: the impostor scenarios start with an upload to the
  genuine gateway (a client that trusts nothing fails CL-TLS-04, and what it could not do
  elsewhere is BLOCKED by it).

  @CL-TLS-01 @must
  Scenario: The client negotiates TLS 1.2 and presents its certificate
    When the client uploads a new file to "FTPSGW.Heartbeat"
    Then the gateway saw only TLS 1.2 handshakes with the client's certificate

  @CL-TLS-02 @must @assumed
  Scenario: The client protects its data connections and uses passive mode
    When the client uploads a new file to "FTPSGW.Heartbeat"
    Then the client reports success
    And the gateway saw PROT P before every transfer
    And the gateway saw no active-mode command
    And every data connection the gateway saw used TLS
    And every upload the gateway saw ended with a TLS close_notify

  @CL-TLS-03 @should @assumed
  Scenario: The client resumes the TLS session on its data connections
    When the client uploads a new file to "FTPSGW.Heartbeat"
    Then the client reports success
    And every data connection the gateway saw resumed its control connection's TLS session

  @CL-TLS-04 @must
  Scenario: The client refuses a gateway certificate from a CA it was not told to trust
    Given the client has uploaded a new file to "FTPSGW.Heartbeat"
    And the gateway presents a certificate from a CA the client was not told to trust
    When the client uploads a new file to "FTPSGW.Heartbeat"
    Then the gateway saw the client send neither credentials nor a file
    And the client reports failure

  @CL-TLS-04 @must
  Scenario: The client refuses a gateway certificate made out to another host
    Given the client has uploaded a new file to "FTPSGW.Heartbeat"
    And the gateway presents a trusted certificate made out to another host
    When the client uploads a new file to "FTPSGW.Heartbeat"
    Then the gateway saw the client send neither credentials nor a file
    And the client reports failure

  @CL-AUTH-01 @must
  Scenario: The client logs in with the username of its certificate
    When the client uploads a new file to "FTPSGW.Heartbeat"
    Then the gateway saw the client log in as the username of its certificate, without a refused attempt

  @CL-NET-01 @must @assumed
  Scenario: The client reconnects when the connection drops at login
    Given the gateway will drop the control connection at the next login
    When the client uploads a new file to "FTPSGW.Heartbeat"
    Then the client reports success
    And the gateway saw the file uploaded exactly once
    And the gateway saw the client connect more than once

  @CL-NET-01 @must @assumed
  Scenario: The client retries when the connection drops at STOR
    Given the gateway will drop the control connection at the next STOR
    When the client uploads a new file to "FTPSGW.Heartbeat"
    Then the client reports success
    And the gateway saw the file uploaded exactly once
