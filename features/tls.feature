Feature: TLS
  SKAT's gateway speaks TLS 1.2 only, demands a valid OCES client certificate, and protects
  every data connection ("FPTS-protokol understøtter kun TLS 1.2").

  @GW-TLS-01 @must
  Scenario: TLS 1.2 is accepted with an AEAD cipher suite
    When "moces" connects offering only TLS 1.2
    Then the TLS handshake succeeds with TLS 1.2 and an AEAD cipher suite

  @GW-TLS-01 @must
  Scenario Outline: <version> is refused
    When "moces" connects offering only <version>
    Then the TLS handshake is refused

    Examples:
      | version |
      | TLS 1.0 |
      | TLS 1.1 |
      | TLS 1.3 |

  @GW-TLS-01 @must
  Scenario Outline: A data connection offering only <version> is refused
    Given "moces" is logged in on a raw connection
    When "moces" opens a data connection offering only <version>
    Then the data connection's TLS handshake is refused

    Examples:
      | version |
      | TLS 1.1 |
      | TLS 1.3 |

  @GW-TLS-02 @must
  Scenario: A client without a certificate is refused
    Given "moces" can log in with its password
    When a client without a certificate tries to log in as "moces"
    Then the connection is refused

  @GW-TLS-02 @must
  Scenario Outline: A <certificate> certificate is refused
    Given "moces" can log in with its password
    When "<certificate>" tries to log in with its password
    Then the connection is refused

    Examples:
      | certificate     |
      | expired         |
      | not-yet-valid   |
      | foreign-ca      |
      | revoked         |
      | wrong-key-usage |

  @GW-TLS-03 @must @assumed
  Scenario: An upload travels over a TLS 1.2 data connection
    Given "moces" is logged in
    When "moces" uploads a new file to "FTPSGW.Heartbeat"
    Then the upload is accepted
    And every data connection used TLS 1.2

  @GW-TLS-03 @must @assumed
  Scenario: After PROT C no data flows in clear
    Given "moces" is logged in on a raw connection
    When "moces" turns data protection off with PROT C
    Then an upload over a clear data connection is refused
    And a listing over a clear data connection is refused
    And no data flowed in clear

  @GW-TLS-04 @should @assumed
  Scenario: The data connection resumes the control connection's TLS session
    Given "moces" is logged in
    When "moces" uploads a new file to "FTPSGW.Heartbeat"
    Then the upload is accepted
    And every data connection resumed the control connection's TLS session

  @GW-TLS-04 @should @assumed
  Scenario: A data connection that does not resume the TLS session is refused
    Given "moces" is logged in on a raw connection
    When "moces" uploads over a data connection with a fresh TLS session
    Then the upload is refused

  @GW-TLS-05 @must @assumed
  Scenario: An upload whose data connection ends without close_notify is not accepted
    Given "moces" is logged in on a raw connection
    When "moces" uploads a new file to "FTPSGW.Heartbeat" and ends the data connection without close_notify
    Then the upload is refused
    When "moces" uploads a file with the same name to "FTPSGW.Heartbeat"
    Then the upload is accepted
    And "moces" receives receipts 1 and 2 for it
